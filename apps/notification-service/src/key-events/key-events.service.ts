import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AnyKeyEvent } from '@keyward/contracts';
import { DeliveriesService } from '../deliveries/deliveries.service';
import { TemplatesService } from '../templates/templates.service';
import { emailContext, recipientsOf, templateName } from '../emails/email-context';

/** Turns a key event into one email per recipient. */
@Injectable()
export class KeyEventsService {
  private readonly logger = new Logger(KeyEventsService.name);
  private readonly webAppUrl: string;

  constructor(
    private readonly templates: TemplatesService,
    private readonly deliveries: DeliveriesService,
    config: ConfigService,
  ) {
    this.webAppUrl = config.getOrThrow<string>('WEB_APP_URL');
  }

  async notify(event: AnyKeyEvent): Promise<void> {
    const template = templateName(event.type);
    // Recipients are independent: one slow or refused address does not hold up the others.
    const results = await Promise.allSettled(
      recipientsOf(event).map(({ address, reason }) =>
        this.deliveries.deliver({
          eventId: event.eventId,
          eventType: event.type,
          keyId: event.keyId,
          recipient: address,
          render: () => this.templates.render(template, emailContext(event, this.webAppUrl, reason)),
        }),
      ),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) {
      // Rethrow so the message is retried; recipients already sent are skipped next time.
      throw new Error(`${failed.length} of ${results.length} deliveries failed: ${String(failed[0].reason)}`);
    }
    this.logger.debug({ keyId: event.keyId, eventId: event.eventId }, `${event.type} handled`);
  }
}
