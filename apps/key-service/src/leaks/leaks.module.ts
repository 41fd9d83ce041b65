import { Module } from '@nestjs/common';
import { HashingModule } from '../hashing/hashing.module';
import { KeysModule } from '../keys/keys.module';
import { GithubSignatureGuard, GithubSignatures } from './github-signatures';
import { LeakReporterGuard, LeakReporterTokens } from './leak-reporter-tokens';
import { LeaksController } from './leaks.controller';
import { LeaksService } from './leaks.service';

/** Leaked-key reports: GitHub's secret scanning and a generic reporter endpoint, both contained by KeyRevocation. */
@Module({
  imports: [KeysModule, HashingModule],
  controllers: [LeaksController],
  providers: [LeaksService, GithubSignatures, GithubSignatureGuard, LeakReporterTokens, LeakReporterGuard],
})
export class LeaksModule {}
