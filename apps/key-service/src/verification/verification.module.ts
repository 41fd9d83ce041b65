import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { Registry } from 'prom-client';
import { Key, KeySchema } from '../keys/key.schema';
import { ActivityModule } from '../activity/activity.module';
import { HashingModule } from '../hashing/hashing.module';
import { KeysModule } from '../keys/keys.module';
import { InternalVerifyServer } from './internal-verify.server';
import { LastUsedRecorder } from './last-used.recorder';
import { ServiceTokens } from './service-tokens';
import { VerificationController } from './verification.controller';
import { VerificationMetrics } from './verification.metrics';
import { VerificationReports } from './verification-reports';
import { VerificationRepository } from './verification.repository';
import { VerificationService } from './verification.service';

@Module({
  imports: [
    MongooseModule.forFeature([{ name: Key.name, schema: KeySchema }]),
    KeysModule,
    ActivityModule,
    HashingModule,
  ],
  controllers: [VerificationController],
  providers: [
    VerificationService,
    VerificationRepository,
    LastUsedRecorder,
    ServiceTokens,
    InternalVerifyServer,
    {
      provide: VerificationMetrics,
      inject: [Registry],
      useFactory: (registry: Registry) => new VerificationMetrics(registry),
    },
    VerificationReports,
  ],
})
export class VerificationModule {}
