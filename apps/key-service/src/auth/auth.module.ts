import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { UsersModule } from '../users/users.module';
import { Session, SessionSchema } from './session.schema';
import { SessionGuard } from './session.guard';
import { SessionsRepository } from './sessions.repository';

@Module({
  imports: [MongooseModule.forFeature([{ name: Session.name, schema: SessionSchema }]), UsersModule],
  providers: [SessionsRepository, SessionGuard],
  exports: [SessionsRepository, SessionGuard, UsersModule],
})
export class AuthModule {}
