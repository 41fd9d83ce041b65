import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { SettingsModule } from '@keyward/settings';
import { MongoSettings } from './mongo.config';

/**
 * The one MongoDB connection of a process. Written for both real MongoDB and FerretDB v1:
 * no multi-document transactions, TTL or partial indexes, change streams or $lookup.
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
