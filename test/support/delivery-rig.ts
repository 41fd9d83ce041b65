import { readFileSync } from 'node:fs';
import { DeadLetterHeader, KeyEvent, Topic } from '@keyward/contracts';
import { isolatedEnv, Mailpit, ServiceProcess, sleep, until, untilFound } from '@keyward/testing';
import mongoose from 'mongoose';
import { sampleMessages } from '../../apps/notification-service/src/emails/sample-messages';
import { LedgerRow, settleDeliveries } from './delivery-ledger';
import { FerretDbServer } from './ferretdb-server';
import { MailpitServer } from './mailpit-server';
import { NotificationKafka } from './notification-kafka';

/** How long a fault scenario may take to reach a state it waits for (outages last tens of seconds). */
export const FAULT_TIMEOUT_MS = 120_000;

/** A message no version of the contract accepts. */
export const POISON = '{"not": "an event"';

/** How notification-service retries in a rig: tiny backoffs, so hours of outage take seconds. */
export interface RigTimings {
  giveUpAfter: string;
  retryBaseMs: number;
  retryMaxMs: number;
  pollMs: number;
}

export const CI_TIMINGS: RigTimings = { giveUpAfter: '30s', retryBaseMs: 20, retryMaxMs: 100, pollMs: 50 };

/**
 * notification-service against a Mailpit and a FerretDB of its own (the shared ones stay up), the
 * shared broker in a namespace of its own, and the fault scenarios of the delivery guarantees as
 * methods, each returning its line of the fault table: used by the end-to-end tests (shortened)
 * and by `npm run faults`.
 */
export class DeliveryRig {
  readonly emailDomain: string;
  readonly namespace: string;
  readonly kafka: NotificationKafka;
  /** The settings the operator tools need to act on this rig. */
  readonly toolEnv: Record<string, string>;
  readonly env: Record<string, string>;
  readonly mailpit: Mailpit;

  private constructor(
    readonly smtp: MailpitServer,
    readonly database: FerretDbServer,
    private serviceProcess: ServiceProcess,
    private readonly serviceEnv: Record<string, string>,
    readonly db: mongoose.Connection,
    isolated: ReturnType<typeof isolatedEnv>,
    kafka: NotificationKafka,
    toolEnv: Record<string, string>,
  ) {
    this.emailDomain = isolated.emailDomain;
    this.namespace = isolated.env.KAFKA_TOPIC_NAMESPACE;
    this.env = isolated.env;
    this.kafka = kafka;
    this.toolEnv = toolEnv;
    this.mailpit = new Mailpit(smtp.url);
  }

  private scenarios = 0;

  /** A fresh email domain per scenario run, so a scenario can run again in the same rig and count apart. */
  private domainFor(name: string): string {
    return `${name}-${++this.scenarios}.${this.emailDomain}`;
  }

  get service(): ServiceProcess {
    return this.serviceProcess;
  }

  static async start(timings: RigTimings = CI_TIMINGS): Promise<DeliveryRig> {
    const isolated = isolatedEnv();
    const [smtp, database] = await Promise.all([MailpitServer.start(), FerretDbServer.start()]);
    const toolEnv = { ...isolated.env, MONGO_URI: database.uri('notifications'), SMTP_PORT: String(smtp.smtpPort) };
    const serviceEnv = {
      ...toolEnv,
      DELIVERY_RETRY_BASE_MS: String(timings.retryBaseMs),
      DELIVERY_RETRY_MAX_MS: String(timings.retryMaxMs),
      DELIVERY_RETRY_POLL_MS: String(timings.pollMs),
      DELIVERY_GIVE_UP_AFTER: timings.giveUpAfter,
      // The shortest lease allowed: a killed worker's sends are taken over within 45 s.
      DELIVERY_LEASE_MS: '30000',
      // Asked before a killed worker's send goes again: this rig's own Mailpit.
      MAILPIT_API_URL: smtp.url,
    };
    const service = await ServiceProcess.start('notification-service', serviceEnv);
    const kafka = new NotificationKafka(isolated.env.KAFKA_TOPIC_NAMESPACE);
    await kafka.start();
    const db = await mongoose.createConnection(database.uri('notifications')).asPromise();
    return new DeliveryRig(smtp, database, service, serviceEnv, db, isolated, kafka, toolEnv);
  }

  async stop(): Promise<void> {
    await Promise.all([this.kafka.stop(), this.service.stop(), this.db.close()]);
    await Promise.all([this.smtp.stop(), this.database.stop()]);
  }

  /** `count` key-created events, each for a key of its own (spread over partitions), to ops@ and oncall@ of `domain`. */
  keyEvents(domain: string, count: number) {
    const events = Array.from({ length: count }, (_, i) => {
      const event = sampleMessages({ domain: `${i}.${domain}` })['key-created'] as KeyEvent<'KeyCreated'>;
      return { ...event, keyId: `k-${domain}-${i}` };
    });
    return { events, recipients: events.flatMap((e) => e.payload.contacts) };
  }

  async produceAll(events: KeyEvent<'KeyCreated'>[]): Promise<void> {
    for (const event of events) await this.kafka.produce(Topic.KeyEvents, event.keyId, event);
  }

  deliveriesOf(eventIds: string[]) {
    return this.db
      .collection('deliveries')
      .find({ eventId: { $in: eventIds } })
      .toArray();
  }

  serviceLog(): string {
    return readFileSync(this.service.logFile, 'utf8');
  }

  /** Dead letters of key events this rig's consumer (or an earlier version) parked. */
  keyEventLetters() {
    return this.kafka.deadLetters.filter(
      (l) => l.headers[DeadLetterHeader.SourceTopic] === this.namespace + Topic.KeyEvents,
    );
  }

  /** Waits for every email of `events` and counts them (see settleDeliveries). */
  async settle(scenario: string, domain: string, events: KeyEvent<'KeyCreated'>[], since: number): Promise<LedgerRow> {
    const result = await settleDeliveries({
      mailpit: this.mailpit,
      db: this.db,
      eventIds: events.map((e) => e.eventId),
      expected: events.flatMap((e) => e.payload.contacts),
      domain,
      since,
    });
    return { scenario, keys: new Set(events.map((e) => e.keyId)).size, ...result };
  }

  /**
   * SMTP refusing connections until every delivery has failed more than `attemptsBeyond` attempts
   * (the previous version gave up at 20), then back.
   */
  async smtpOutage({ keys = 4, attemptsBeyond = 20 } = {}): Promise<LedgerRow> {
    const domain = this.domainFor('smtp-long');
    const { events, recipients } = this.keyEvents(domain, keys);
    const since = Date.now();
    await this.smtp.stop();
    await this.produceAll(events);
    await until(
      `every delivery to have failed more than ${attemptsBeyond} attempts`,
      async () => {
        const all = await this.deliveriesOf(events.map((e) => e.eventId));
        return all.length === recipients.length && all.every((d) => d.attempts > attemptsBeyond);
      },
      FAULT_TIMEOUT_MS,
    );
    await this.smtp.resume();
    return this.settle(`SMTP refusing past the old ${attemptsBeyond}-attempt give-up`, domain, events, since);
  }

  /**
   * The database stopped while key events keep arriving, until a message has failed
   * `failedAttempts` times in the consumer (the previous version dead-lettered it after 5) and at
   * least `downForMs` passed; then back. `deadLettered` counts key events dead-lettered meanwhile.
   */
  async databaseDown({ keys = 3, failedAttempts = 6, downForMs = 0 } = {}): Promise<
    LedgerRow & { deadLettered: number }
  > {
    const domain = this.domainFor('db-down');
    const { events } = this.keyEvents(domain, keys);
    const since = Date.now();
    const lettersBefore = this.keyEventLetters().length;
    await this.database.stop();
    // Under load: the events keep coming while the database is away.
    for (const event of events) {
      await this.produceAll([event]);
      await sleep(downForMs / keys);
    }
    await until(
      `a key event held past its failed attempt ${failedAttempts}`,
      async () => {
        const attempts = [...this.serviceLog().matchAll(/key-events\.1\[\d+\]@\d+ attempt (\d+) failed/g)].map((m) =>
          Number(m[1]),
        );
        return Math.max(0, ...attempts) >= failedAttempts;
      },
      FAULT_TIMEOUT_MS,
    );
    const downFor = Math.round((Date.now() - since) / 1000);
    await this.database.resume();
    const row = await this.settle(`database stopped ${downFor} s under load`, domain, events, since);
    await this.kafka.caughtUp('notification-service', Topic.KeyEvents);
    return { ...row, deadLettered: this.keyEventLetters().length - lettersBefore };
  }

  /**
   * The database frozen (it holds connections and answers nothing) for `stallMs` while key events
   * arrive; `rebalanced` tells whether the consumer group rebalanced meanwhile.
   */
  async databaseFrozen({ keys = 3, stallMs = 12_000 } = {}): Promise<
    LedgerRow & { deadLettered: number; rebalanced: boolean }
  > {
    const domain = this.domainFor('db-stall');
    const { events } = this.keyEvents(domain, keys);
    const since = Date.now();
    const lettersBefore = this.keyEventLetters().length;
    const logFrom = this.serviceLog().length;
    this.database.freeze();
    try {
      await this.produceAll(events);
      await sleep(stallMs); // the fault itself: how long the database answers nothing
    } finally {
      this.database.thaw();
    }
    const row = await this.settle(`database frozen ${stallMs / 1000} s`, domain, events, since);
    await this.kafka.caughtUp('notification-service', Topic.KeyEvents);
    return {
      ...row,
      deadLettered: this.keyEventLetters().length - lettersBefore,
      rebalanced: /rebalancing|not aware of this member/i.test(this.serviceLog().slice(logFrom)),
    };
  }

  /**
   * notification-service killed (SIGKILL) once a quarter of a burst's emails reached Mailpit, then
   * started again on the same journal. The kill follows an acceptance the test has just seen, so it
   * lands as often as anything can in the window the journal cannot close: Mailpit stores an email
   * before its 250 reaches the worker. An email stored there and not journaled is found by its
   * Message-ID once its lease lapses (MAILPIT_API_URL) and recorded, not sent again
   * (docs/RELIABILITY.md).
   */
  async serviceKilledMidBurst({ keys = 20 } = {}): Promise<LedgerRow> {
    const domain = this.domainFor('killed');
    const { events, recipients } = this.keyEvents(domain, keys);
    const since = Date.now();
    await this.produceAll(events);
    await until(
      'a quarter of the burst delivered',
      async () => (await this.mailpit.search(`to:"${domain}"`)).length >= recipients.length / 4,
      FAULT_TIMEOUT_MS,
    );
    await this.serviceProcess.kill();
    this.serviceProcess = await ServiceProcess.start('notification-service', this.serviceEnv);
    return this.settle('notification-service killed (-9) mid-burst', domain, events, since);
  }

  /** A poison message between two events of one key: the one after it must still be delivered. */
  async poisonMessage(): Promise<LedgerRow & { letter?: { reason: string } }> {
    const domain = this.domainFor('poison');
    const { events } = this.keyEvents(domain, 2);
    const [first, second] = events.map((e) => ({ ...e, keyId: events[0].keyId }));
    const since = Date.now();
    await this.kafka.produce(Topic.KeyEvents, first.keyId, first, POISON, second);
    const row = await this.settle('poison message between two events of a key', domain, [first, second], since);
    const letter = await untilFound(
      'the poison message to be dead-lettered',
      () => this.keyEventLetters().find((l) => l.value.toString() === POISON),
      FAULT_TIMEOUT_MS,
    );
    return { ...row, letter: { reason: letter.headers[DeadLetterHeader.Reason] } };
  }
}
