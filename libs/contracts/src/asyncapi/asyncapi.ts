import { join, resolve } from 'node:path';
import { z } from 'zod';
import { stringify } from 'yaml';
import { zodToJsonSchema } from 'zod-to-json-schema';
import {
  recordReminderDueSchema,
  RECORD_REMINDER_DUE,
  RECORD_REMINDER_DUE_VERSION,
} from '../commands/record-reminder-due';
import { DeadLetterHeader } from '../dead-letter';
import { KEY_EVENT_TYPES, KEY_EVENT_VERSION, keyEventSchemas } from '../key-events';
import { KEY_EVENT_SIGNATURE_HEADER } from '../key-event-signatures';
import { KEY_VERIFY_VERSION, keyVerifyReplySchema, keyVerifyRequestSchema } from '../key-verification';
import {
  ACCOUNT_CLOSURE_CODE_REQUESTED,
  ACCOUNT_CLOSURE_CODE_VERSION,
  accountClosureCodeRequestedSchema,
  LOGIN_CODE_REQUESTED,
  LOGIN_CODE_VERSION,
  loginCodeRequestedSchema,
} from '../login-codes';
import { Topic, TOPIC_SPECS } from '../topics';

/**
 * docs/asyncapi.yaml, built from the contracts themselves: every topic keyward produces or
 * consumes, its partitioning and retention, and each message's headers and JSON schema (from the
 * zod schemas producers and consumers validate with). `npm run docs:asyncapi` writes it; a spec
 * fails when the committed file differs.
 */
export function asyncApiYaml(): string {
  return (
    '# Generated from libs/contracts by `npm run docs:asyncapi`: do not edit by hand.\n' +
    stringify(asyncApiDocument(), { lineWidth: 0, aliasDuplicateObjects: false })
  );
}

/** docs/asyncapi.yaml, from dist/libs/contracts/src/asyncapi. */
export const ASYNCAPI_FILE = join(resolve(__dirname, '../../../../..'), 'docs', 'asyncapi.yaml');

const KAFKA_BINDING = '0.5.0';

function retention(ms: number): string {
  const [count, unit] = ms % 86_400_000 === 0 ? [ms / 86_400_000, 'day'] : [ms / 3_600_000, 'hour'];
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

// Its declared JSON Schema return type is too deep for the compiler to relate to our zod schemas.
const toJsonSchema = zodToJsonSchema as unknown as (schema: z.ZodTypeAny, options: object) => Record<string, unknown>;

/** The JSON schema of a contract, inline (no $refs), without the draft marker AsyncAPI does not want. */
function schemaOf(schema: z.ZodTypeAny): Record<string, unknown> {
  const json = toJsonSchema(schema, { $refStrategy: 'none', removeAdditionalStrategy: 'strict' });
  delete json.$schema;
  return json;
}

/** Kafka headers are bytes; ours are UTF-8 text. */
const headers = (fields: Record<string, { description: string; required?: boolean }>) => ({
  type: 'object',
  properties: Object.fromEntries(
    Object.entries(fields).map(([name, { description }]) => [name, { type: 'string', description }]),
  ),
  required: Object.entries(fields)
    .filter(([, field]) => field.required !== false)
    .map(([name]) => name),
});

const partitionKey = (description: string) => ({
  kafka: { key: { type: 'string', description }, bindingVersion: KAFKA_BINDING },
});

const EVENT_ID_HEADER = headers({
  eventId: { description: 'The eventId of the message, for deduplication without parsing it.' },
});

const KEY_EVENT_HEADERS = headers({
  eventId: { description: 'The eventId of the message, for deduplication without parsing it.' },
  [KEY_EVENT_SIGNATURE_HEADER]: {
    description:
      "`<key id>.<base64url Ed25519 signature of the value>` by key-service's KEY_EVENTS_SIGNING_KEY; consumers believe only events that verify against a public key they hold (KEY_EVENTS_VERIFY_KEYS) and dead-letter the rest.",
    required: true,
  },
});

const CHANNELS: Record<string, { topic: Topic; title: string; description: string; messages: string[] }> = {
  keyEvents: {
    topic: Topic.KeyEvents,
    title: 'Key events',
    description:
      'Every change of a key, published by key-service from its transactional outbox, at least once (consumers deduplicate by eventId). Keyed by keyId, so the events of one key stay in order across types. Internal teams consume this topic to follow keys.',
    messages: [...KEY_EVENT_TYPES],
  },
  keyReminderCommands: {
    topic: Topic.KeyReminderCommands,
    title: 'Reminder commands',
    description:
      'scheduler-service asks key-service to record that a key looked due for its next reminder (or its expiry) as of a time; key-service claims each stage once, so repeated commands record nothing.',
    messages: [RECORD_REMINDER_DUE],
  },
  loginCodes: {
    topic: Topic.LoginCodes,
    title: 'Login codes',
    description:
      'key-service asks notification-service to email a one-time code: to sign in, or to confirm closing an account. The code is sealed (AES-256-GCM under LOGIN_CODE_SEALING_KEY, shared by the two services).',
    messages: [LOGIN_CODE_REQUESTED, ACCOUNT_CLOSURE_CODE_REQUESTED],
  },
  keyVerify: {
    topic: Topic.KeyVerify,
    title: 'Key verification requests',
    description:
      'Internal services (libs/key-client) ask key-service whether a key is valid, request/reply through @nestjs/microservices. The key is sealed (AES-256-GCM under KEY_VERIFY_SEALING_KEY).',
    messages: ['KeyVerifyRequest'],
  },
  keyVerifyReply: {
    topic: Topic.KeyVerifyReply,
    title: 'Key verification replies',
    description:
      'key-service answers each request on the partition the request names (each asking instance owns at least one); the answer has the shape of POST /v1/keys/verify.',
    messages: ['KeyVerification'],
  },
  deadLetter: {
    topic: Topic.DeadLetter,
    title: 'Dead letters',
    description:
      'Messages a consumer could not process and no retry could fix (they failed validation), with the original key, value and headers untouched and headers saying why and where from. `npm run dlq:replay` puts them back.',
    messages: ['DeadLetter'],
  },
};

function messages(): Record<string, object> {
  const keyEvents = Object.fromEntries(
    KEY_EVENT_TYPES.map((type) => [
      type,
      {
        name: type,
        title: type,
        summary: `${type}, version ${KEY_EVENT_VERSION} (the \`version\` field; a breaking change goes to a new topic).`,
        contentType: 'application/json',
        headers: KEY_EVENT_HEADERS,
        payload: schemaOf(keyEventSchemas[type]),
        bindings: partitionKey('keyId'),
      },
    ]),
  );
  return {
    ...keyEvents,
    [RECORD_REMINDER_DUE]: {
      name: RECORD_REMINDER_DUE,
      title: RECORD_REMINDER_DUE,
      summary: `Version ${RECORD_REMINDER_DUE_VERSION}. Record the due reminder stage or expiry of a key, as of asOf.`,
      contentType: 'application/json',
      payload: schemaOf(recordReminderDueSchema),
      bindings: partitionKey('keyId'),
    },
    [LOGIN_CODE_REQUESTED]: {
      name: LOGIN_CODE_REQUESTED,
      title: LOGIN_CODE_REQUESTED,
      summary: `Version ${LOGIN_CODE_VERSION}. Email this one-time code to this address; the code is sealed and bound to the address, event id and expiry (version 1 is refused).`,
      contentType: 'application/json',
      headers: EVENT_ID_HEADER,
      payload: schemaOf(loginCodeRequestedSchema),
      bindings: partitionKey('The email address, so one person’s codes stay in order.'),
    },
    [ACCOUNT_CLOSURE_CODE_REQUESTED]: {
      name: ACCOUNT_CLOSURE_CODE_REQUESTED,
      title: ACCOUNT_CLOSURE_CODE_REQUESTED,
      summary: `Version ${ACCOUNT_CLOSURE_CODE_VERSION}. Email this one-time code, which confirms closing the account of this address; sealed like a login code and bound to this type too, so it never opens as a login code (nor a login code as this).`,
      contentType: 'application/json',
      headers: EVENT_ID_HEADER,
      payload: schemaOf(accountClosureCodeRequestedSchema),
      bindings: partitionKey('The email address, so one person’s codes stay in order.'),
    },
    KeyVerifyRequest: {
      name: 'KeyVerifyRequest',
      title: 'Key verification request',
      summary: `Version ${KEY_VERIFY_VERSION}. Is this key valid? The key is sealed under the asking caller's own key (an id in key-service's KEY_VERIFY_CALLERS) and bound to the topic, requestId and issuedAt; key-service answers nothing older than 30 s, from an unknown key id, or of version 1.`,
      contentType: 'application/json',
      headers: headers({
        kafka_correlationId: { description: 'The requestId; the reply is bound to it.' },
        kafka_replyTopic: { description: `Where to answer: only ${Topic.KeyVerifyReply} is answered.` },
        kafka_replyPartition: { description: 'The partition of the reply topic the asking instance reads.' },
      }),
      payload: schemaOf(keyVerifyRequestSchema),
    },
    KeyVerification: {
      name: 'KeyVerification',
      title: 'Key verification',
      summary: `Version ${KEY_VERIFY_VERSION}. The answer (valid with the key’s id, owner, label and expiry; or not valid, with the reason) as JSON, sealed under the asking caller's key and bound to the request id, reply topic and repliedAt. Callers drop any reply they cannot open that way, or older than 30 s.`,
      contentType: 'application/json',
      headers: headers({
        kafka_correlationId: { description: 'The request’s correlation id.' },
        'kafka_nest-is-disposed': { description: 'Set: this is the last reply to the request.', required: false },
        'kafka_nest-err': {
          description: 'Set, unsealed, instead of an answer when a request was refused; callers ignore it.',
          required: false,
        },
      }),
      payload: schemaOf(keyVerifyReplySchema),
    },
    DeadLetter: {
      name: 'DeadLetter',
      title: 'Dead letter',
      summary: 'The original message (key, value and headers as received), with why and where from.',
      headers: headers({
        [DeadLetterHeader.Reason]: { description: 'Why no consumer could process it (the validation error).' },
        [DeadLetterHeader.SourceTopic]: { description: 'The topic it was read from.' },
        [DeadLetterHeader.SourcePartition]: { description: 'Its partition there.' },
        [DeadLetterHeader.SourceOffset]: { description: 'Its offset there.' },
        [DeadLetterHeader.Consumer]: { description: 'The consumer group that gave up on it.' },
      }),
      payload: {
        description: 'The original value, byte for byte (usually one of the JSON messages above, or not JSON at all).',
      },
      bindings: partitionKey('The original key, or topic:partition:offset when it had none.'),
    },
  };
}

const operation = (action: 'send' | 'receive', channel: string, summary: string, extra: object = {}) => ({
  action,
  channel: { $ref: `#/channels/${channel}` },
  summary,
  messages: CHANNELS[channel].messages.map((m) => ({ $ref: `#/channels/${channel}/messages/${m}` })),
  ...extra,
});

export function asyncApiDocument(): object {
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'keyward Kafka topics',
      version: '1.0.0',
      description:
        'Every Kafka topic keyward produces or consumes. Topic names end in their contract version; a breaking change is a new topic beside the old one. With KAFKA_TOPIC_NAMESPACE set, every topic and consumer group name is prefixed with it. Messages are JSON, validated on both ends by the zod schemas in libs/contracts that these schemas are generated from.',
    },
    defaultContentType: 'application/json',
    servers: {
      local: { host: '127.0.0.1:9092', protocol: 'kafka', description: 'The local stack (tools/stack/stack.sh).' },
    },
    channels: Object.fromEntries(
      Object.entries(CHANNELS).map(([id, channel]) => {
        const spec = TOPIC_SPECS[channel.topic];
        return [
          id,
          {
            address: channel.topic,
            title: channel.title,
            description: `${channel.description} ${spec.partitions} partitions, kept ${retention(spec.retentionMs)}.`,
            messages: Object.fromEntries(channel.messages.map((m) => [m, { $ref: `#/components/messages/${m}` }])),
            bindings: {
              kafka: {
                topic: channel.topic,
                partitions: spec.partitions,
                topicConfiguration: { 'retention.ms': spec.retentionMs },
                bindingVersion: KAFKA_BINDING,
              },
            },
          },
        ];
      }),
    ),
    operations: {
      publishKeyEvents: operation('send', 'keyEvents', 'key-service publishes every key change (outbox relay).'),
      consumeKeyEvents: operation(
        'receive',
        'keyEvents',
        'notification-service emails the contacts; key-service and every key-client drop cached verifications; key-service projects the activity log; internal teams follow keys.',
      ),
      sendReminderCommands: operation('send', 'keyReminderCommands', 'scheduler-service, on each scan pass.'),
      recordReminders: operation(
        'receive',
        'keyReminderCommands',
        'key-service records the stage and emits KeyExpiring or KeyExpired.',
      ),
      sendLoginCodes: operation(
        'send',
        'loginCodes',
        'key-service, when a user asks for a login code or a code to close their account (outbox relay).',
      ),
      emailLoginCodes: operation('receive', 'loginCodes', 'notification-service emails the code.'),
      verifyKey: operation(
        'send',
        'keyVerify',
        'An internal service (libs/key-client) asks; the answer comes on the reply topic.',
        {
          reply: { channel: { $ref: '#/channels/keyVerifyReply' } },
        },
      ),
      answerVerification: operation(
        'receive',
        'keyVerify',
        'key-service answers each request once (one consumer group for all instances).',
        {
          reply: { channel: { $ref: '#/channels/keyVerifyReply' } },
        },
      ),
      deadLetter: operation('send', 'deadLetter', 'Every consumer group parks what it cannot process.'),
    },
    components: { messages: messages() },
  };
}
