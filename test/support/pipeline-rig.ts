import { DAY_MS } from '@keyward/contracts';
import { emailsSettled, isolatedEnv, KafkaCluster, Mailpit, ServiceProcess, sleep, until } from '@keyward/testing';
import mongoose from 'mongoose';
import { loggedInUser } from './accounts';
import { countEmails, LedgerRow } from './delivery-ledger';
import { FerretDbServer } from './ferretdb-server';
import { keyDocument } from './key-documents';
import { MailpitServer } from './mailpit-server';

/** How long a scheduler's claim on a reminder command lasts in a rig: a killed scheduler's claims lapse this soon. */
const COMMAND_LEASE_MS = 15_000;

/** A service's start waits for Kafka (a fresh broker's coordinator loads slowly on a busy machine). */
const START = { timeoutMs: 120_000 };

/**
 * The three services end to end, against a Mailpit and a FerretDB of the rig's own and either the
 * shared broker (in a namespace of its own) or, with `ownKafka`, a Kafka of its own that a scenario
 * may stop: the fault scenarios that involve key-service, scheduler-service or Kafka, each returning
 * its line of the fault table. Used by the end-to-end tests (shortened) and by `npm run faults`.
 */
export class PipelineRig {
  private scenarios = 0;
  readonly mailpit: Mailpit;

  private constructor(
    private readonly smtp: MailpitServer,
    private readonly database: FerretDbServer,
    private readonly kafka: KafkaCluster | undefined,
    private readonly env: Record<string, string>,
    private readonly emailDomain: string,
    readonly keys: mongoose.Connection,
    readonly notifications: mongoose.Connection,
    private keyService: ServiceProcess,
    private readonly notificationService: ServiceProcess,
  ) {
    this.mailpit = new Mailpit(smtp.url);
  }

  static async start({ ownKafka = false } = {}): Promise<PipelineRig> {
    const isolated = isolatedEnv();
    const [smtp, database, kafka] = await Promise.all([
      MailpitServer.start(),
      FerretDbServer.start(),
      ownKafka ? KafkaCluster.start({ nodes: 1 }) : undefined,
    ]);
    const env = {
      ...isolated.env,
      ...(kafka && { KAFKA_BROKERS: kafka.brokers, KAFKA_REPLICATION_FACTOR: '1' }),
      SMTP_PORT: String(smtp.smtpPort),
      // A burst from one account is the point here, not the per-account limits.
      KEY_CHANGES_PER_HOUR: '10000',
      KEY_MAX_ACTIVE_PER_OWNER: '1000',
      DELIVERY_RETRY_BASE_MS: '20',
      DELIVERY_RETRY_MAX_MS: '200',
      DELIVERY_RETRY_POLL_MS: '100',
    };
    const started = Promise.all([
      ServiceProcess.start('key-service', { ...env, MONGO_URI: database.uri('keys') }, START),
      ServiceProcess.start(
        'notification-service',
        { ...env, MONGO_URI: database.uri('notifications'), MAILPIT_API_URL: smtp.url },
        START,
      ),
    ]);
    const [keyService, notificationService] = await started.catch(async (error: unknown) => {
      // Nothing of a rig that did not start may keep the test process alive.
      await Promise.all([smtp.stop(), database.stop(), kafka?.stop()]);
      throw error;
    });
    const [keys, notifications] = await Promise.all(
      ['keys', 'notifications'].map((name) => mongoose.createConnection(database.uri(name)).asPromise()),
    );
    return new PipelineRig(
      smtp,
      database,
      kafka,
      env,
      isolated.emailDomain,
      keys,
      notifications,
      keyService,
      notificationService,
    );
  }

  async stop(): Promise<void> {
    await Promise.all([this.keyService.stop(), this.notificationService.stop(), this.keys.close()]);
    await this.notifications.close();
    await Promise.all([this.smtp.stop(), this.database.stop(), this.kafka?.stop()]);
  }

  /** A fresh email domain per scenario run, so scenarios count apart. */
  private domainFor(name: string): string {
    return `${name}-${++this.scenarios}.${this.emailDomain}`;
  }

  private startScheduler(): Promise<ServiceProcess> {
    return ServiceProcess.start(
      'scheduler-service',
      {
        ...this.env,
        MONGO_URI: this.database.uri('keys'),
        // A pass every second, in pages of 10, so a kill falls in the middle of one.
        REMINDER_SCAN_CRON: '* * * * * *',
        REMINDER_SCAN_PAGE_SIZE: '10',
        REMINDER_COMMAND_LEASE_MS: String(COMMAND_LEASE_MS),
        // The due keys here are written straight into the collection and listed in no calendar minute
        // (as keys of the previous version are): the safety net's full scan finds them, every minute here.
        REMINDER_FULL_SCAN_EVERY_MS: '60000',
      },
      START,
    );
  }

  /**
   * key-service killed (SIGKILL) once a quarter of a burst of creates and rotations were answered,
   * then started again; the rest of the burst goes to the new process, and requests cut off by the
   * kill are not retried. What counts is what committed: one KeyCreated email per key created, one
   * KeyRotated email per rotation, and no replacement left pending by a committed rotation.
   */
  async keyServiceKilledMidBurst({ keys = 40, rotations = 10 } = {}): Promise<LedgerRow & { stuckRotations: number }> {
    const domain = this.domainFor('key-service-killed');
    const contacts = `c.${domain}`;
    const token = await loggedInUser(this.database.uri('keys'), `owner@${domain}`);
    const request = (path: string, body: unknown) =>
      fetch(`${this.keyService.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    // Keys to rotate during the burst, created beforehand.
    const rotatable: string[] = [];
    for (let i = 0; i < rotations; i++) {
      const res = await request('/v1/keys', { label: `rotated ${i}`, contacts: [`r${i}@${contacts}`] });
      if (res.status !== 201) throw new Error(`create answered ${res.status}: ${await res.text()}`);
      rotatable.push(((await res.json()) as { id: string }).id);
    }
    const operations = [
      ...Array.from(
        { length: keys },
        (_, i) => () => request('/v1/keys', { label: `burst ${i}`, contacts: [`k${i}@${contacts}`] }),
      ),
      ...rotatable.map((id) => () => request(`/v1/keys/${id}/rotate`, { graceHours: 1 })),
    ].sort(() => Math.random() - 0.5);

    const since = Date.now();
    let answered = 0;
    let restarted: Promise<void> | undefined;
    const killAndRestart = async () => {
      await this.keyService.kill();
      this.keyService = await ServiceProcess.start(
        'key-service',
        { ...this.env, MONGO_URI: this.database.uri('keys') },
        START,
      );
    };
    const worker = async () => {
      for (let op = operations.shift(); op; op = operations.shift()) {
        try {
          await (await op()).arrayBuffer();
          if (++answered === Math.ceil((keys + rotations) / 4)) restarted = killAndRestart();
        } catch {
          // Cut off by the kill: whether it committed is for the database to say. Wait for the new process.
          await until('key-service to be restarting', async () => restarted !== undefined, 120_000);
          await restarted;
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    await restarted;

    // Expected from what committed: each key not a replacement was created; each rotated key rotated.
    const owned = () =>
      this.keys
        .collection('keys')
        .find({ 'owner.email': `owner@${domain}` })
        .toArray();
    const committed = await owned();
    const expected = committed.flatMap((k) => [
      ...(k.replaces ? [] : k.contacts),
      ...(k.rotatedTo ? k.contacts : []),
    ]) as string[];
    const row = await this.settle('key-service killed (-9) mid-burst', contacts, expected, since, committed.length);
    // A replacement its committed rotation names must not stay pending (the relay activates it).
    const after = await owned();
    const rotatedTo = new Set(after.map((k) => k.rotatedTo).filter(Boolean));
    const stuckRotations = after.filter((k) => k.status === 'pending' && rotatedTo.has(String(k._id))).length;
    return { ...row, stuckRotations };
  }

  /**
   * Keys due for a reminder now (expiring in 10 days, imported 60 days ago: one email each, the
   * 14-day stage), written as an import writes them, with a contact each at `contacts`.
   */
  private async dueKeys(count: number, contacts: string): Promise<string[]> {
    const now = Date.now();
    const owner = new mongoose.Types.ObjectId().toHexString();
    const docs = Array.from({ length: count }, (_, i) => {
      const expiresAt = new Date(now + 10 * DAY_MS);
      return keyDocument({
        owner: { userId: owner, email: `owner@${contacts}.owner`, timeZone: 'Asia/Singapore' },
        label: `due ${i}`,
        contacts: [`d${i}@${contacts}`],
        createdAt: new Date(now - 60 * DAY_MS),
        expiresAt,
        legacy: true,
        nextReminderAt: new Date(expiresAt.getTime() - 30 * DAY_MS),
      });
    });
    await this.keys.collection('keys').insertMany(docs);
    return docs.map((d) => d.contacts[0]);
  }

  /**
   * scheduler-service killed (SIGKILL) in the middle of a pass over `keys` due keys (once a quarter of
   * their commands are claimed), then started again: the commands it claimed and never sent go out
   * once their claims lapse; every key's contact gets its reminder once.
   */
  async schedulerKilledMidPass({ keys = 60 } = {}): Promise<LedgerRow> {
    const domain = this.domainFor('scheduler-killed');
    const expected = await this.dueKeys(keys, domain);
    const since = Date.now();
    const first = await this.startScheduler();
    const leases = this.keys.collection('reminder_command_leases');
    await until(
      'the first scheduler to claim a quarter of the reminder commands',
      async () => (await leases.countDocuments()) >= keys / 4,
      60_000,
      20,
    );
    await first.kill();
    const second = await this.startScheduler();
    try {
      return await this.settle('scheduler-service killed (-9) mid-pass', domain, expected, since, keys);
    } finally {
      await second.stop();
    }
  }

  /** `count` schedulers started at once over `keys` due keys: every contact gets its reminder once. */
  async schedulersRacing({ keys = 100, count = 3 } = {}): Promise<LedgerRow> {
    const domain = this.domainFor('schedulers-racing');
    const expected = await this.dueKeys(keys, domain);
    const since = Date.now();
    const schedulers = await Promise.all(Array.from({ length: count }, () => this.startScheduler()));
    try {
      return await this.settle(`${count} schedulers racing`, domain, expected, since, keys);
    } finally {
      await Promise.all(schedulers.map((s) => s.stop()));
    }
  }

  /**
   * The rig's own Kafka stopped for `downForMs` while `keys` keys are created over that time (each
   * answered at once: its event waits in key-service's outbox), then started again: each key's
   * contact gets its email once.
   */
  async kafkaStopped({ keys = 20, downForMs = 30_000 } = {}): Promise<LedgerRow> {
    if (!this.kafka) throw new Error('kafkaStopped needs a rig with its own Kafka');
    const domain = this.domainFor('kafka-stopped');
    const token = await loggedInUser(this.database.uri('keys'), `owner@${domain}.owner`);
    const expected = Array.from({ length: keys }, (_, i) => `k${i}@${domain}`);
    const since = Date.now();
    await this.kafka.stop();
    for (const [i, contact] of expected.entries()) {
      const res = await fetch(`${this.keyService.url}/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ label: `outage ${i}`, contacts: [contact] }),
      });
      if (res.status !== 201) throw new Error(`create during the outage answered ${res.status}: ${await res.text()}`);
      await sleep(downForMs / keys);
    }
    const downFor = Math.round((Date.now() - since) / 1000);
    await this.kafka.startStopped();
    return this.settle(`Kafka stopped ${downFor} s`, domain, expected, since, keys);
  }

  /**
   * Waits until every expected email is in Mailpit (or the deadline), then until the whole path is
   * idle (so a repeat would be in Mailpit by then), and counts.
   */
  private async settle(
    scenario: string,
    domain: string,
    expected: string[],
    since: number,
    keys: number,
  ): Promise<LedgerRow> {
    const deadline = Date.now() + 180_000;
    while ((await this.mailpit.search(`to:"${domain}"`)).length < expected.length && Date.now() < deadline) {
      await sleep(200);
    }
    const settledMs = Date.now() - since;
    await emailsSettled({
      namespace: this.env.KAFKA_TOPIC_NAMESPACE,
      keys: this.keys,
      notifications: this.notifications,
      brokers: this.env.KAFKA_BROKERS,
      timeoutMs: 120_000,
    });
    return { scenario, keys, ...(await countEmails(this.mailpit, domain, expected)), settledMs };
  }
}
