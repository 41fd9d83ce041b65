import { Module } from '@nestjs/common';
import { KeysModule } from '../keys/keys.module';
import { GithubSignatureGuard, GithubSignatures } from './github-signatures';
import { LeakReporterGuard, LeakReporterTokens } from './leak-reporter-tokens';
import { LeaksController } from './leaks.controller';
import { LeaksService } from './leaks.service';

/** Leaked-key reports: GitHub's secret scanning and a generic reporter endpoint, both contained by KeysService. */
@Module({
  imports: [KeysModule],
  controllers: [LeaksController],
  providers: [LeaksService, GithubSignatures, GithubSignatureGuard, LeakReporterTokens, LeakReporterGuard],
})
export class LeaksModule {}
