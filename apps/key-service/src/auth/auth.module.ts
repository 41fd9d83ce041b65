import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { KeyHasher } from '../keys/key-hasher';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { ExpiredRecordsSweeper } from './expired-records.sweeper';
import { LoginCode, LoginCodeSchema } from './login-code.schema';
import { LoginCodesRepository } from './login-codes.repository';
import { RateLimitWindow, RateLimitWindowSchema } from './rate-limit.schema';
import { RateLimiter } from './rate-limiter';
import { Session, SessionSchema } from './session.schema';
import { SessionGuard } from './session.guard';
import { SessionsRepository } from './sessions.repository';

@Module({
  imports: [
    MongooseModule.forFeature([
      { name: Session.name, schema: SessionSchema },
      { name: LoginCode.name, schema: LoginCodeSchema },
      { name: RateLimitWindow.name, schema: RateLimitWindowSchema },
    ]),
    UsersModule,
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    ExpiredRecordsSweeper,
    LoginCodesRepository,
    RateLimiter,
    SessionsRepository,
    SessionGuard,
    KeyHasher,
  ],
  exports: [SessionsRepository, SessionGuard, RateLimiter, UsersModule],
})
export class AuthModule {}
