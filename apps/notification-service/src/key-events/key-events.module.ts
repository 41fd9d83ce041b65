import { Module } from '@nestjs/common';
import { DeliveriesModule } from '../deliveries/deliveries.module';
import { KeyEventsConsumer } from './key-events.consumer';

@Module({
  imports: [DeliveriesModule],
  providers: [KeyEventsConsumer],
})
export class KeyEventsModule {}
