import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { INestApplicationContext } from '@nestjs/common';
import {
  buildLoginCodeRequested,
  buildRecordReminderDue,
  DeadLetterHeader,
  openKeyVerifyRequest,
  parseSealingKeys,
  Topic,
} from '@keyward/contracts';
import { KeyClient } from '@keyward/key-client';
import { isolatedEnv, Mailpit, stack, until, untilFound } from '@keyward/testing';
import { Consumer, IHeaders, Kafka, logLevel, Partitioners, Producer } from 'kafkajs';
import mongoose from 'mongoose';
import { generateKey } from '../apps/key-service/src/keys/key-format';
import { loggedInUser } from './support/accounts';
import { call } from './support/http';
import { KeywardSystem } from './support/keyward-system';
import { startSampleService } from './support/sample-service';

const SERVICE_TOKEN = `security-kafka-${randomBytes(16).toString('hex')}`;
const LOGIN_CODE_SEALING_KEY = `security-kafka-login-${randomBytes(16).toString('hex')}`;
const CALLER_A = `billing-1:${randomBytes(32).toString('base64')}`;
const CALLER_B = `mailer-1:${randomBytes(32).toString('base64')}`;
const DAY = 24 * 60 * 60 * 1000;

interface Seen {
  topic: string;
  headers: Record<string, string>;
  value: string;
}

const text = (headers: IHeaders | undefined) =>
  Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, String(v)]));

/**
 * The Kafka side of the security boundary, attacked from Kafka itself: the test plays a party
 * that can read and write keyward's topics (a compromised internal service, a leaked broker
 * credential), against key-service and notification-service running as processes.
 */
describe('nothing on Kafka can be forged or read by the wrong party', () => {
  const isolated = isolatedEnv();
  const { env, mongoUri, emailDomain } = isolated;
  // A second namespace where no key-service answers: every reply there is the attacker's.
  const unanswered = isolatedEnv();
  const ns = env.KAFKA_TOPIC_NAMESPACE;
  const mailpit = new Mailpit();
  const kafka = new Kafka({
    clientId: 'security-kafka-e2e',
    brokers: stack.kafkaBrokers.split(','),
    logLevel: logLevel.NOTHING,
  });
  const seen: Seen[] = [];
  /** Correlation ids of requests the attacker answered with forged replies. */
  const forgedFor: string[] = [];
  let producer: Producer;
  let attacker: Consumer;
  let system: KeywardSystem;
  let billing: INestApplicationContext;
  let mailer: INestApplicationContext;
  let lonely: INestApplicationContext;
  let token: string;

  /** Waits for the attacker to see a message that `matches`; on timeout, says what it did see. */
  const sighting = (what: string, matches: (message: Seen) => boolean) =>
    untilFound(what, () => seen.find(matches), 30_000, 50).catch((error: Error) =>
      assert.fail(`${error.message} (seen: ${JSON.stringify(seen.map((m) => [m.topic, m.value.slice(0, 80)]))})`),
    );

  const createKey = async (label: string) => {
    const res = await call<{ id: string; key: string }>(system.url, token, 'POST', '/v1/keys', {
      label,
      contacts: [`ops@${emailDomain}`],
    });
    assert.equal(res.status, 201);
    return res.body;
  };

  const verifyOverHttp = (key: string) =>
    fetch(`${system.url}/v1/keys/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-service-token': SERVICE_TOKEN },
      body: JSON.stringify({ key }),
    });

  /** The attacker: reads every topic it cares about, and answers every request in the unanswered namespace. */
  async function startAttacker(): Promise<void> {
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const consumer = kafka.consumer({
      groupId: `${ns}attacker`,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      allowAutoTopicCreation: false,
    });
    const joined = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, () => resolve());
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
    });
    await consumer.connect();
    await consumer.subscribe({
      topics: [
        ns + Topic.KeyVerify,
        ns + Topic.KeyVerifyReply,
        ns + Topic.DeadLetter,
        unanswered.env.KAFKA_TOPIC_NAMESPACE + Topic.KeyVerify,
      ],
      fromBeginning: true,
    });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const record = { topic, headers: text(message.headers), value: message.value?.toString() ?? '' };
        seen.push(record);
        if (topic !== unanswered.env.KAFKA_TOPIC_NAMESPACE + Topic.KeyVerify) return;
        const correlationId = record.headers.kafka_correlationId;
        const genuine = seen.find(
          (s) => s.topic === ns + Topic.KeyVerifyReply && s.value.includes('sealedVerification'),
        );
        const forged = {
          valid: true,
          keyId: 'forged',
          owner: 'forged',
          label: 'forged',
          expiresAt: '2099-01-01T00:00:00Z',
        };
        await producer.send({
          topic: unanswered.env.KAFKA_TOPIC_NAMESPACE + Topic.KeyVerifyReply,
          messages: [JSON.stringify(forged), genuine?.value ?? '{}'].map((value) => ({
            partition: Number(record.headers.kafka_replyPartition),
            headers: { kafka_correlationId: correlationId, 'kafka_nest-is-disposed': '1' },
            value,
          })),
        });
        forgedFor.push(correlationId);
      },
    });
    await joined;
    attacker = consumer;
  }

  before(async () => {
    system = await KeywardSystem.start(
      isolated,
      {
        LOGIN_CODE_SEALING_KEY,
        VERIFY_SERVICE_TOKENS: SERVICE_TOKEN,
        KEY_VERIFY_CALLERS: `${CALLER_A},${CALLER_B}`,
        VERIFY_FAILURES_PER_MINUTE: '5',
      },
      { LOGIN_CODE_SEALING_KEY },
    );
    billing = await startSampleService(env, CALLER_A);
    mailer = await startSampleService(env, CALLER_B);
    lonely = await startSampleService(unanswered.env, CALLER_A, 3_000);
    await startAttacker();
    token = await loggedInUser(mongoUri('keys'), `owner@${emailDomain}`);
  });

  after(async () => {
    await Promise.all([billing?.close(), mailer?.close(), lonely?.close()]);
    await Promise.all([producer?.disconnect(), attacker?.disconnect()]);
    await system?.stop();
  });

  it('a forged reply, or a genuine one replayed from another request, is not believed and not cached', async () => {
    const { key } = await createKey('forgery target');
    assert.equal((await billing.get(KeyClient).verify(key)).valid, true, 'a genuine answer to replay');
    await sighting(
      'the genuine reply seen by the attacker',
      (s) => s.topic === ns + Topic.KeyVerifyReply && s.value.includes('sealedVerification'),
    );
    const client = lonely.get(KeyClient);
    await assert.rejects(client.verify(key), { name: 'TimeoutError' }, 'only forgeries came back: no answer');
    assert.ok(forgedFor.length >= 1, 'the attacker did answer the request, twice');
    assert.equal(client.cachedKeys, 0, 'nothing cached');
  });

  it('a caller with key A cannot open requests sealed for caller B', async () => {
    const { key } = await createKey('read by another caller');
    assert.equal((await mailer.get(KeyClient).verify(key)).valid, true);
    const request = await sighting(
      'caller B’s request seen on the topic',
      (s) => s.topic === ns + Topic.KeyVerify && s.value.includes('"sealedKey":"mailer-1.'),
    );
    const at = {
      topic: ns + Topic.KeyVerify,
      correlationId: request.headers.kafka_correlationId,
      now: new Date(),
    };
    const [keyA] = parseSealingKeys(CALLER_A);
    const [keyB] = parseSealingKeys(CALLER_B);
    assert.equal(openKeyVerifyRequest(JSON.parse(request.value), { ...at, callers: [keyB] }).key, key, 'B can');
    assert.throws(() => openKeyVerifyRequest(JSON.parse(request.value), { ...at, callers: [keyA] }), /does not hold/);
    assert.throws(
      () => openKeyVerifyRequest(JSON.parse(request.value), { ...at, callers: [{ id: 'mailer-1', key: keyA.key }] }),
      /cannot be opened/,
      'nor by naming itself B',
    );
    assert.ok(!seen.some((s) => s.value.includes(key)), 'the key itself never crossed Kafka in clear');
  });

  it('a login code re-addressed on Kafka reaches no one but its recipient', async () => {
    const victim = `victim@${emailDomain}`;
    const attacker = `attacker@${emailDomain}`;
    const message = buildLoginCodeRequested({
      email: victim,
      timeZone: 'Asia/Singapore',
      expiresAt: new Date(Date.now() + 10 * 60_000),
      code: '482913',
      secret: LOGIN_CODE_SEALING_KEY,
    });
    const readdressed = { ...message, eventId: randomUUID(), email: attacker };
    await producer.send({
      topic: ns + Topic.LoginCodes,
      acks: -1,
      messages: [message, readdressed].map((m) => ({ key: victim, value: JSON.stringify(m) })),
    });
    const [delivered] = await mailpit.waitFor(victim, 1, { timeoutMs: 30_000 });
    assert.match(delivered.Text, /482913/, 'the genuine message is delivered');
    const letter = await sighting(
      'the re-addressed message dead-lettered',
      (s) => s.topic === ns + Topic.DeadLetter && s.value.includes(readdressed.eventId),
    );
    assert.match(letter.headers[DeadLetterHeader.Reason], /sealedCode: .*sealed for another message/);
    assert.deepEqual(await mailpit.search(`to:"${attacker}"`), [], 'nothing sent to the attacker');
  });

  it('a reminder command dated in the future does not expire a key', async () => {
    const target = await createKey('future asOf');
    const keys = system.keysDb.collection('keys');
    // A key whose expiry is really due, commanded after the forged one on the same partition: once
    // it is recorded, the forged command has been handled too.
    const dueId = new mongoose.Types.ObjectId();
    const past = new Date(Date.now() - DAY);
    const owner = await keys.findOne({ _id: new mongoose.Types.ObjectId(target.id) });
    await keys.insertOne({
      ...owner,
      _id: dueId,
      hash: randomBytes(32).toString('base64url'),
      label: 'really due',
      labelKey: 'really due',
      createdAt: new Date(past.getTime() - 180 * DAY),
      expiresAt: past,
      nextReminderAt: past,
      remindersSent: [30, 14, 7, 3, 1],
      outbox: [],
      outboxAt: null,
    });
    await producer.send({
      topic: ns + Topic.KeyReminderCommands,
      acks: -1,
      messages: [
        buildRecordReminderDue({ keyId: target.id, asOf: new Date(Date.now() + 400 * DAY) }),
        buildRecordReminderDue({ keyId: dueId.toHexString(), asOf: new Date() }),
      ].map((command) => ({ partition: 0, key: command.keyId, value: JSON.stringify(command) })),
    });
    await until(
      'the due key expired',
      async () => (await keys.findOne({ _id: dueId }))?.status === 'expired',
      30_000,
      50,
    );
    const after = await keys.findOne({ _id: new mongoose.Types.ObjectId(target.id) });
    assert.deepEqual([after?.status, after?.remindersSent], ['active', []]);
    assert.equal(((await (await verifyOverHttp(target.key)).json()) as { valid: boolean }).valid, true);
  });

  it('a flood of junk keys does not make a valid key fail, over HTTP or Kafka', async () => {
    const junk = (i: number) => (i % 2 ? generateKey('junk') : `junk-${i}-${randomBytes(12).toString('hex')}`);
    const statuses = await Promise.all(
      Array.from({ length: 40 }, (_, i) => verifyOverHttp(junk(i)).then((r) => r.status)),
    );
    assert.ok(statuses.includes(429), 'the flood went past the caller’s budget');
    const fresh = await createKey('valid under flood');
    const res = await verifyOverHttp(fresh.key);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { valid: boolean }).valid, true, 'valid over HTTP');

    const client = billing.get(KeyClient);
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => client.verify(junk(i))));
    assert.ok(answers.every((a) => !a.valid));
    assert.equal((await client.verify(fresh.key)).valid, true, 'valid over Kafka');
  });

  it('key-service answers over Kafka only after it follows key events', async () => {
    const log = await readFile(system.keyServiceLog, 'utf8');
    const following = log.indexOf('following key events');
    const serving = log.indexOf('Nest microservice successfully started');
    assert.ok(following >= 0 && serving >= 0, 'both logged');
    assert.ok(following < serving, 'the Kafka server started after the key-events consumer');
  });
});
