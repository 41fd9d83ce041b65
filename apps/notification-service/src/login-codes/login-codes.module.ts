import { Module } from '@nestjs/common';
import { DeliveriesModule } from '../deliveries/deliveries.module';
import { EmailsModule } from '../emails/emails.module';
import { LoginCodesConsumer } from './login-codes.consumer';

@Module({
  imports: [EmailsModule, DeliveriesModule],
  providers: [LoginCodesConsumer],
})
export class LoginCodesModule {}
