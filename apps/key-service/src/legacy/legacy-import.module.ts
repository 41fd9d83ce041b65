import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { MongoModule } from '@keyward/mongo';
import { SettingsModule, validateEnv } from '@keyward/settings';
import { keyServiceEnv, KeyServiceSettings } from '../config/key-service.env';
import { HashingModule } from '../hashing/hashing.module';
import { KeyCap } from '../keys/key-cap';
import { KeyStoreModule } from '../keys/key-store.module';
import { UsersModule } from '../users/users.module';
import { LegacyImportService } from './legacy-import.service';

/** The import command's application: key-service's configuration and database, without HTTP or Kafka. */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: validateEnv(keyServiceEnv) }),
    SettingsModule.register(KeyServiceSettings),
    MongoModule,
    KeyStoreModule,
    UsersModule,
    HashingModule,
  ],
  providers: [LegacyImportService, KeyCap],
})
export class LegacyImportModule {}
