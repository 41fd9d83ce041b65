import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { SettingsModule } from '@keyward/settings';
import { MongoSettings } from './mongo.config';

/**
 * The one MongoDB connection of a process. keyward runs on MongoDB and, locally, on FerretDB v1
 * (docs/stack.md), and is written for both: no multi-document transactions (a change and its
 * events are one document write), no TTL or partial indexes (expired documents are swept by the
 * feature that owns them), no change streams or $lookup; hot lookups are by _id (the only lookup
 * FerretDB answers without scanning the collection). Writes that must have one winner go through
 * single-writes.ts (claimOnce, claimEach, compareAndSet); writes of many documents through
 * write-batches.ts (writeInBatches).
 */
@Module({
  imports: [
    MongooseModule.forRootAsync({
      imports: [SettingsModule.forFeature(MongoSettings)],
      inject: [MongoSettings],
      useFactory: (settings: MongoSettings) => ({
        uri: settings.MONGO_URI,
        serverSelectionTimeoutMS: 5000,
        maxPoolSize: 20,
        autoIndex: true,
      }),
    }),
  ],
})
export class MongoModule {}
