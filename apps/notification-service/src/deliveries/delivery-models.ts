import { MongooseModule } from '@nestjs/mongoose';
import { DeliveryAttempt, DeliveryAttemptSchema } from './delivery-attempt.schema';
import { Delivery, DeliverySchema } from './delivery.schema';
import { ErasedEvent, ErasedEventSchema } from './erased-event.schema';

/** The collections DeliveriesRepository owns: one list for the service and the redrive command. */
export const DeliveryModels = MongooseModule.forFeature([
  { name: Delivery.name, schema: DeliverySchema },
  { name: DeliveryAttempt.name, schema: DeliveryAttemptSchema },
  { name: ErasedEvent.name, schema: ErasedEventSchema },
]);
