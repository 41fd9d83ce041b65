import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AuthModule } from '../auth/auth.module';
import { KeysModule } from '../keys/keys.module';
import { ActivityEntry, ActivityEntrySchema } from './activity-entry.schema';
import { ActivityRetentionSweeper } from './activity-retention.sweeper';
import { ActivityConsumer } from './activity.consumer';
import { ActivityController } from './activity.controller';
import { ActivityRepository } from './activity.repository';
import { VerificationFailuresRecorder } from './verification-failures.recorder';

/** What happened to each key, per account: a projection of the key events, read by the owner. */
@Module({
  imports: [
    MongooseModule.forFeature([{ name: ActivityEntry.name, schema: ActivityEntrySchema }]),
    AuthModule,
    KeysModule,
  ],
  controllers: [ActivityController],
  providers: [ActivityRepository, ActivityConsumer, ActivityRetentionSweeper, VerificationFailuresRecorder],
  exports: [VerificationFailuresRecorder, ActivityRepository],
})
export class ActivityModule {}
