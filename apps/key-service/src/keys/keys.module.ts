import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AuthModule } from '../auth/auth.module';
import { KeyCap } from './key-cap';
import { KeyChanges } from './key-changes';
import { KeyHasher } from './key-hasher';
import { Key, KeySchema } from './key.schema';
import { KeysController } from './keys.controller';
import { KeysRepository } from './keys.repository';
import { KeysService } from './keys.service';
import { RequestOriginMiddleware } from './request-origin';

@Module({
  imports: [MongooseModule.forFeature([{ name: Key.name, schema: KeySchema }]), AuthModule],
  controllers: [KeysController],
  providers: [KeysService, KeysRepository, KeyHasher, KeyChanges, KeyCap],
  exports: [KeysService, KeysRepository, KeyHasher, KeyChanges],
})
export class KeysModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestOriginMiddleware).forRoutes(KeysController);
  }
}
