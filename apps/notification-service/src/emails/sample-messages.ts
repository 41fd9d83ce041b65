import {
  buildAccountClosureCodeRequested,
  buildKeyEvent,
  buildLoginCodeRequested,
  KEY_CONTACTS_CHANGED,
  KEY_CREATED,
  KEY_EXPIRED,
  KEY_EXPIRING,
  KEY_LEAKED,
  KEY_REVOKED,
  DEV_LOGIN_CODE_SEALING_KEY,
  KEY_ROTATED,
} from '@keyward/contracts';
import { NotificationSettings } from '../config/notification-service.env';
import { TemplatesService } from '../templates/templates.service';
import { EmailsService, NotificationMessage } from './emails.service';

/** The development sealing key (the settings' default), for sample login codes. */
export const SAMPLE_SEALING_KEY = DEV_LOGIN_CODE_SEALING_KEY;
export const SAMPLE_LOGIN_CODE = '482913';

/** The emails as notification-service writes them, outside the service: for the preview, the specs and the benchmark. */
export function sampleEmails({
  webAppUrl = 'http://127.0.0.1:3000',
  sealingKey = SAMPLE_SEALING_KEY,
} = {}): EmailsService {
  const templates = new TemplatesService();
  templates.onModuleInit();
  const settings = { WEB_APP_URL: webAppUrl, LOGIN_CODE_SEALING_KEY: sealingKey } as NotificationSettings;
  return new EmailsService(templates, settings);
}

/**
 * One message of each kind with realistic values, for the preview, the template tests and the
 * render benchmark. Times are fixed so the rendered text is stable.
 */
export function sampleMessages({
  label = 'production',
  domain = 'example.com',
  timeZone = 'Asia/Singapore',
} = {}): Record<string, NotificationMessage> {
  const owner = { userId: 'u-1', email: `alice.tan@${domain}`, timeZone };
  const contacts = [`ops@${domain}`, `oncall@${domain}`];
  const key = { label, lastFive: 'Xk3p9', contacts };
  const created = new Date('2026-11-27T02:00:00Z');
  const expiresAt = '2027-05-27T02:00:00.000Z';
  const sealedCode = {
    email: owner.email,
    timeZone,
    occurredAt: created,
    expiresAt: new Date(created.getTime() + 10 * 60_000),
    code: SAMPLE_LOGIN_CODE,
    secret: SAMPLE_SEALING_KEY,
  };
  const leaked = (action: 'revoked' | 'notified') =>
    buildKeyEvent(KEY_LEAKED, {
      keyId: 'k-1',
      owner,
      occurredAt: new Date('2027-01-12T06:45:00Z'),
      payload: {
        ...key,
        url: 'https://github.com/alicetan/mailer/blob/4f2c9e1/config/settings.env',
        source: 'commit',
        reporter: 'GitHub secret scanning',
        reportedAt: '2027-01-12T06:45:00.000Z',
        action,
      },
    });
  const reminder = (stageDays: number, finalReminder: boolean) =>
    buildKeyEvent(KEY_EXPIRING, {
      keyId: 'k-1',
      owner,
      occurredAt: new Date(Date.parse(expiresAt) - stageDays * 86_400_000),
      payload: { ...key, expiresAt, stageDays, daysLeft: stageDays, finalReminder },
    });
  return {
    'key-created': buildKeyEvent(KEY_CREATED, {
      keyId: 'k-1',
      owner,
      occurredAt: created,
      payload: { ...key, createdAt: created.toISOString(), expiresAt },
    }),
    'key-expiring-30-days': reminder(30, false),
    'key-expiring-7-days': reminder(7, false),
    'key-expiring-3-days': reminder(3, false),
    'key-expiring-1-day-last': reminder(1, true),
    'key-expired': buildKeyEvent(KEY_EXPIRED, {
      keyId: 'k-1',
      owner,
      occurredAt: new Date(expiresAt),
      payload: { ...key, expiresAt },
    }),
    'key-revoked': buildKeyEvent(KEY_REVOKED, {
      keyId: 'k-1',
      owner,
      occurredAt: new Date('2027-01-10T09:30:00Z'),
      payload: { ...key, revokedAt: '2027-01-10T09:30:00.000Z' },
    }),
    'key-revoked-account-closed': buildKeyEvent(KEY_REVOKED, {
      keyId: 'k-1',
      owner,
      occurredAt: new Date('2027-01-10T09:30:00Z'),
      payload: { ...key, revokedAt: '2027-01-10T09:30:00.000Z', cause: 'owner', accountClosed: true },
    }),
    'key-leaked': leaked('revoked'),
    'key-leaked-notify-only': leaked('notified'),
    'key-rotated': buildKeyEvent(KEY_ROTATED, {
      keyId: 'k-1',
      owner,
      occurredAt: new Date('2027-05-01T03:00:00Z'),
      payload: {
        ...key,
        oldKeyExpiresAt: '2027-05-08T03:00:00.000Z',
        newKeyId: 'k-2',
        newLabel: `${label} (2027-05-01)`,
        newLastFive: 'Qm7Tz',
        newExpiresAt: '2027-11-01T03:00:00.000Z',
      },
    }),
    'key-contacts-changed': buildKeyEvent(KEY_CONTACTS_CHANGED, {
      keyId: 'k-1',
      owner,
      occurredAt: new Date('2027-02-01T01:00:00Z'),
      payload: { ...key, previousContacts: contacts, contacts: [`ops@${domain}`, `platform@${domain}`], expiresAt },
    }),
    'login-code': buildLoginCodeRequested(sealedCode),
    'account-closure-code': buildAccountClosureCodeRequested(sealedCode),
  };
}
