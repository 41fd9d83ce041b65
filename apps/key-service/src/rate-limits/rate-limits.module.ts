import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { ThrottlerModule } from '@nestjs/throttler';
import { KeyServiceSettings } from '../config/key-service.env';
import { MongoThrottlerStorage } from './mongo-throttler.storage';
import { RateLimitWindow, RateLimitWindowSchema } from './rate-limit-window.schema';
import { RateLimitGuard } from './rate-limit.guard';
import { throttlers } from './rate-limits';

@Module({
  imports: [MongooseModule.forFeature([{ name: RateLimitWindow.name, schema: RateLimitWindowSchema }])],
  providers: [MongoThrottlerStorage],
  exports: [MongoThrottlerStorage],
})
class RateLimitStorageModule {}

/** Every limit of key-service: @nestjs/throttler over MongoDB; routes opt in with @RateLimited. */
@Module({
  imports: [
    RateLimitStorageModule,
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStorageModule],
      inject: [MongoThrottlerStorage, KeyServiceSettings],
      useFactory: (storage: MongoThrottlerStorage, settings: KeyServiceSettings) => ({
        storage,
        setHeaders: false,
        throttlers: throttlers(settings.KEY_CHANGES_PER_HOUR),
      }),
    }),
  ],
  providers: [RateLimitGuard],
  exports: [RateLimitGuard, RateLimitStorageModule],
})
export class RateLimitsModule {}
