import { Global, Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { LoginCode, LoginCodeSchema } from '../auth/login-code.schema';
import { Key, KeySchema } from '../keys/key.schema';
import { KeyEventSigning } from './key-event-signing';
import { OutboxRelayService } from './outbox-relay.service';
import { OutboxMetrics } from './outbox.metrics';

/** One relay per process for every collection that carries an outbox. */
@Global()
@Module({
  imports: [
    MongooseModule.forFeature([
      { name: Key.name, schema: KeySchema },
      { name: LoginCode.name, schema: LoginCodeSchema },
    ]),
  ],
  providers: [OutboxRelayService, OutboxMetrics, KeyEventSigning],
  exports: [OutboxRelayService, KeyEventSigning],
})
export class OutboxModule {}
