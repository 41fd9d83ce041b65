import { Injectable } from '@nestjs/common';
import {
  ACCOUNT_CLOSURE_CODE_REQUESTED,
  AnyKeyEvent,
  LOGIN_CODE_REQUESTED,
  OneTimeCodeRequested,
  openLoginCode,
  parseKeyEvent,
  parseOneTimeCodeRequested,
} from '@keyward/contracts';
import { RenderedEmail, TemplatesService } from '../templates/templates.service';
import { keyEventContext, keyEventTemplate, loginCodeContext, Recipient, recipientsOf } from './email-context';
import { NotificationSettings } from '../config/notification-service.env';

/** Everything notification-service emails about: a key event, or a one-time code (to sign in, or to close the account). */
export type NotificationMessage = AnyKeyEvent | OneTimeCodeRequested;

const isOneTimeCode = (message: NotificationMessage): message is OneTimeCodeRequested =>
  message.type === LOGIN_CODE_REQUESTED || message.type === ACCOUNT_CLOSURE_CODE_REQUESTED;

/**
 * A delivery's message as stored: the parsed message, validated once when it arrived. Deliveries
 * recorded by the previous version hold its JSON text instead, validated again here when read.
 */
export function storedNotificationMessage(stored: NotificationMessage | string): NotificationMessage {
  if (typeof stored !== 'string') return stored;
  const { type } = JSON.parse(stored) as { type?: unknown };
  return type === LOGIN_CODE_REQUESTED || type === ACCOUNT_CLOSURE_CODE_REQUESTED
    ? parseOneTimeCodeRequested(stored)
    : parseKeyEvent(stored);
}

/** Decides who hears of a message and renders the email each of them gets. */
@Injectable()
export class EmailsService {
  private readonly webAppUrl: string;
  private readonly sealingKey: string;

  constructor(
    private readonly templates: TemplatesService,
    settings: NotificationSettings,
  ) {
    this.webAppUrl = settings.WEB_APP_URL;
    this.sealingKey = settings.LOGIN_CODE_SEALING_KEY;
  }

  recipients(message: NotificationMessage): Recipient[] {
    if (message.type === LOGIN_CODE_REQUESTED) return [{ address: message.email, reason: 'you asked to sign in' }];
    if (message.type === ACCOUNT_CLOSURE_CODE_REQUESTED)
      return [{ address: message.email, reason: 'you asked to close your account' }];
    return recipientsOf(message);
  }

  /** The one-time code inside a message; throws InvalidMessageError when it cannot be opened. */
  openLoginCode(message: OneTimeCodeRequested): string {
    return openLoginCode(message, this.sealingKey);
  }

  /** Until when the message's email helps (epoch ms): a one-time code until it expires, others for good. */
  usefulUntil(message: NotificationMessage): number {
    return isOneTimeCode(message) ? Date.parse(message.expiresAt) : Infinity;
  }

  /** A message whose email would no longer help (a login code past its expiry). */
  isStale(message: NotificationMessage, now: Date): boolean {
    return this.usefulUntil(message) <= now.getTime();
  }

  compose(message: NotificationMessage, address: string): RenderedEmail {
    if (isOneTimeCode(message)) {
      const template = message.type === LOGIN_CODE_REQUESTED ? 'login-code' : 'account-closure-code';
      return this.templates.render(template, loginCodeContext(message, this.openLoginCode(message)));
    }
    const recipient = recipientsOf(message).find((r) => r.address === address);
    if (!recipient) throw new Error(`${address} is not a recipient of ${message.type} ${message.eventId}`);
    return this.templates.render(keyEventTemplate(message), keyEventContext(message, recipient, this.webAppUrl));
  }
}
