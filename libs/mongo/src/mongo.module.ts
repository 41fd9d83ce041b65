import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { MongooseModule } from '@nestjs/mongoose';

/**
 * The one MongoDB connection of a process. Written for both real MongoDB and FerretDB v1:
 * no multi-document transactions, TTL or partial indexes, change streams or $lookup.
 */
@Module({
  imports: [
    MongooseModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        uri: config.getOrThrow<string>('MONGO_URI'),
        serverSelectionTimeoutMS: 5000,
        maxPoolSize: 20,
        autoIndex: true,
      }),
    }),
  ],
})
export class MongoModule {}
