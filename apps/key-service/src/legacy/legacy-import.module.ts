import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { MongooseModule } from '@nestjs/mongoose';
import { MongoModule } from '@keyward/mongo';
import { SettingsModule, validateEnv } from '@keyward/platform';
import { keyServiceEnv, KeyServiceSettings } from '../config/key-service.env';
import { KeyHasher } from '../keys/key-hasher';
import { Key, KeySchema } from '../keys/key.schema';
import { KeysRepository } from '../keys/keys.repository';
import { UsersModule } from '../users/users.module';
import { LegacyImportService } from './legacy-import.service';

/** The import command's application: key-service's configuration and database, without HTTP or Kafka. */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: validateEnv(keyServiceEnv) }),
    SettingsModule.register(KeyServiceSettings),
    MongoModule,
    MongooseModule.forFeature([{ name: Key.name, schema: KeySchema }]),
    UsersModule,
  ],
  providers: [LegacyImportService, KeysRepository, KeyHasher],
})
export class LegacyImportModule {}
