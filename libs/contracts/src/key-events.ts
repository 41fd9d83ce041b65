import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { envelopeFields, Owner } from './envelope';
import { parseMessage, validate } from './validation';
import { KEY_CONTACTS_CHANGED, keyContactsChangedV1 } from './events/key-contacts-changed';
import { KEY_CREATED, keyCreatedV1 } from './events/key-created';
import { KEY_EXPIRED, keyExpiredV1 } from './events/key-expired';
import { KEY_EXPIRING, keyExpiringV1 } from './events/key-expiring';
import { KEY_LEAKED, keyLeakedV1 } from './events/key-leaked';
import { KEY_REVOKED, keyRevokedV1 } from './events/key-revoked';
import { KEY_ROTATED, keyRotatedV1 } from './events/key-rotated';

/** Payload schema of each key event, by type, at its current version. */
const keyEventPayloads = {
  [KEY_CREATED]: keyCreatedV1,
  [KEY_EXPIRING]: keyExpiringV1,
  [KEY_EXPIRED]: keyExpiredV1,
  [KEY_REVOKED]: keyRevokedV1,
  [KEY_ROTATED]: keyRotatedV1,
  [KEY_CONTACTS_CHANGED]: keyContactsChangedV1,
  [KEY_LEAKED]: keyLeakedV1,
} as const;

export type KeyEventType = keyof typeof keyEventPayloads;
export const KEY_EVENT_TYPES = Object.keys(keyEventPayloads) as KeyEventType[];
export const KEY_EVENT_VERSION = 1;

/** Typed map from event type to payload, so publishers and handlers agree at compile time. */
export type KeyEventPayloadMap = {
  [T in KeyEventType]: z.infer<(typeof keyEventPayloads)[T]>;
};

export interface KeyEvent<T extends KeyEventType = KeyEventType> {
  eventId: string;
  type: T;
  version: typeof KEY_EVENT_VERSION;
  occurredAt: string;
  keyId: string;
  owner: Owner;
  payload: KeyEventPayloadMap[T];
}

export type AnyKeyEvent = { [T in KeyEventType]: KeyEvent<T> }[KeyEventType];

const keyEventSchemaOf = (type: KeyEventType) =>
  z
    .object({
      ...envelopeFields,
      type: z.literal(type),
      version: z.literal(KEY_EVENT_VERSION),
      payload: keyEventPayloads[type],
    })
    .strict();

/** The whole message of each key event type, envelope and payload (docs/asyncapi.yaml is generated from these). */
export const keyEventSchemas = Object.fromEntries(
  KEY_EVENT_TYPES.map((type) => [type, keyEventSchemaOf(type)]),
) as Record<KeyEventType, ReturnType<typeof keyEventSchemaOf>>;

const keyEventSchema = z.discriminatedUnion(
  'type',
  Object.values(keyEventSchemas) as unknown as [
    z.ZodDiscriminatedUnionOption<'type'>,
    ...z.ZodDiscriminatedUnionOption<'type'>[],
  ],
);

/** Parses and validates raw bytes from the key-events topic; throws InvalidMessageError with a readable reason. */
export function parseKeyEvent(raw: Buffer | string | null): AnyKeyEvent {
  return parseMessage(keyEventSchema, raw) as AnyKeyEvent;
}

/** Builds a validated event with a fresh eventId; invalid payloads fail here, at the producer. */
export function buildKeyEvent<T extends KeyEventType>(
  type: T,
  fields: {
    keyId: string;
    owner: Owner;
    payload: KeyEventPayloadMap[T];
    occurredAt?: Date;
  },
): KeyEvent<T> {
  const event = {
    eventId: randomUUID(),
    type,
    version: KEY_EVENT_VERSION,
    occurredAt: (fields.occurredAt ?? new Date()).toISOString(),
    keyId: fields.keyId,
    owner: fields.owner,
    payload: fields.payload,
  };
  validate(keyEventSchema, event, type);
  return event as KeyEvent<T>;
}
