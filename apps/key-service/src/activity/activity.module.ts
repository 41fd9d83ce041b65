import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AuthModule } from '../auth/auth.module';
import { ActivityEntry, ActivityEntrySchema } from './activity-entry.schema';
import { ActivityRetentionSweeper } from './activity-retention.sweeper';
import { ActivityConsumer } from './activity.consumer';
import { ActivityController } from './activity.controller';
import { ActivityRepository } from './activity.repository';

/** What happened to each key, per account: a projection of the key events, read by the owner. */
@Module({
  imports: [MongooseModule.forFeature([{ name: ActivityEntry.name, schema: ActivityEntrySchema }]), AuthModule],
  controllers: [ActivityController],
  providers: [ActivityRepository, ActivityConsumer, ActivityRetentionSweeper],
})
export class ActivityModule {}
