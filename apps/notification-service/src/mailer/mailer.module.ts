import { Module } from '@nestjs/common';
import { NotificationSettings } from '../config/notification-service.env';
import { MailerService } from './mailer.service';
import { MailpitRelayLookup } from './mailpit-relay-lookup';
import { RelayLookup } from './relay-lookup';

/** Without a relay to ask (no MAILPIT_API_URL), RelayLookup is null: a lapsed send is sent again. */
const relayLookup = {
  provide: RelayLookup,
  inject: [NotificationSettings],
  useFactory: (settings: NotificationSettings): RelayLookup | null =>
    settings.MAILPIT_API_URL ? new MailpitRelayLookup(settings.MAILPIT_API_URL, settings.MAIL_FROM) : null,
};

@Module({ providers: [MailerService, relayLookup], exports: [MailerService, RelayLookup] })
export class MailerModule {}
