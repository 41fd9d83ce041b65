import { Module } from '@nestjs/common';
import { DeliveriesModule } from '../deliveries/deliveries.module';
import { TemplatesModule } from '../templates/templates.module';
import { KeyEventsConsumer } from './key-events.consumer';
import { KeyEventsService } from './key-events.service';

@Module({
  imports: [TemplatesModule, DeliveriesModule],
  providers: [KeyEventsConsumer, KeyEventsService],
})
export class KeyEventsModule {}
