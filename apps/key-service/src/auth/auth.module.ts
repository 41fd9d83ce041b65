import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { HashingModule } from '../hashing/hashing.module';
import { relayOutboxOf } from '../outbox/outbox.module';
import { RateLimitsModule } from '../rate-limits/rate-limits.module';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { CsrfTokens } from './csrf-tokens';
import { ExpiredRecordsSweeper } from './expired-records.sweeper';
import { LOGIN_CODES_COLLECTION, LoginCode, LoginCodeSchema } from './login-code.schema';
import { LoginCodesRepository } from './login-codes.repository';
import { Session, SessionSchema } from './session.schema';
import { SessionGuard } from './session.guard';
import { SessionsRepository } from './sessions.repository';

@Module({
  imports: [
    MongooseModule.forFeature([
      { name: Session.name, schema: SessionSchema },
      { name: LoginCode.name, schema: LoginCodeSchema },
    ]),
    UsersModule,
    RateLimitsModule,
    HashingModule,
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    ExpiredRecordsSweeper,
    LoginCodesRepository,
    CsrfTokens,
    SessionsRepository,
    SessionGuard,
    relayOutboxOf(LOGIN_CODES_COLLECTION, LoginCodesRepository),
  ],
  exports: [SessionsRepository, LoginCodesRepository, SessionGuard, CsrfTokens, RateLimitsModule, UsersModule],
})
export class AuthModule {}
