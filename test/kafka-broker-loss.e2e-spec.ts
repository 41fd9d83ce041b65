import assert from 'node:assert/strict';
import { after, before, describe, it, TestContext } from 'node:test';
import { Topic } from '@keyward/contracts';
import { isolatedEnv, KafkaCluster, Mailpit, ServiceProcess, sleep, until } from '@keyward/testing';
import { loggedInUser } from './support/accounts';
import { FerretDbServer } from './support/ferretdb-server';

const SERVICE_TOKEN = 'broker-loss-e2e-service-token-0123456789abcdef';

interface CreatedKey {
  id: string;
  key: string;
  contact: string;
  createdAt: number;
}

/**
 * The three services on a Kafka cluster of three (replication factor 3, min.insync.replicas 2,
 * idempotent producers with acks=all) of the test's own: a broker crashes in the middle of a burst
 * of key creations and verifications and comes back; later one stays down. No email is lost or
 * doubled, verification keeps answering, consumers catch up.
 *
 * The services' database is a FerretDB of the test's own too: on the shared one, which holds every
 * earlier test file's databases behind its one-command-at-a-time proxy, the burst once stalled for
 * over a minute (one CI run in three) and no email left. This test is about Kafka.
 */
describe('Kafka cluster: losing a broker loses nothing', () => {
  const { env, emailDomain } = isolatedEnv();
  const mailpit = new Mailpit();
  const keyEventsTopic = env.KAFKA_TOPIC_NAMESPACE + Topic.KeyEvents;
  let cluster: KafkaCluster;
  let database: FerretDbServer;
  let services: ServiceProcess[] = [];
  let keyService: ServiceProcess;
  let token: string;
  const created: CreatedKey[] = [];

  async function createKey(): Promise<CreatedKey> {
    const n = created.length + 1;
    const contact = `k${n}-${Math.random().toString(36).slice(2, 8)}@${emailDomain}`;
    const res = await fetch(`${keyService.url}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ label: `burst ${contact}`, contacts: [contact] }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const key = { ...((await res.json()) as { id: string; key: string }), contact, createdAt: Date.now() };
    created.push(key);
    return key;
  }

  async function verify(key: CreatedKey): Promise<void> {
    const res = await fetch(`${keyService.url}/v1/keys/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-service-token': SERVICE_TOKEN },
      body: JSON.stringify({ key: key.key }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const answer = (await res.json()) as { valid: boolean; keyId?: string };
    assert.deepEqual([answer.valid, answer.keyId], [true, key.id]);
  }

  /**
   * Key creations (two callers, each at most one per 250 ms, so that emails keep up and their delay
   * shows the broker loss rather than a backlog) and verifications (two callers, each at most one per
   * 20 ms, leaving the shared cores to the brokers) until stopped; records when answers came.
   */
  function burst() {
    let running = true;
    let creating = true;
    const answeredAt: number[] = [];
    const creators = Array.from({ length: 2 }, async () => {
      while (running && creating) await Promise.all([createKey(), sleep(250)]);
    });
    const verifiers = Array.from({ length: 2 }, async (_, v) => {
      for (let i = v; running; i++) {
        if (created.length === 0) {
          await sleep(10);
          continue;
        }
        await Promise.all([verify(created[i % created.length]), sleep(20)]);
        answeredAt.push(Date.now());
      }
    });
    const all = Promise.all([...creators, ...verifiers]);
    // A failure ends the burst at once, not at its end.
    all.catch(() => (running = false));
    return {
      answeredAt,
      /** Ends the creations; verifications go on. */
      async stopCreating(): Promise<void> {
        creating = false;
        await Promise.all(creators);
      },
      async stop(): Promise<void> {
        running = false;
        await all;
      },
      async untilCreated(count: number): Promise<void> {
        while (created.length < count) {
          await Promise.race([all, sleep(50)]);
          if (!running) assert.fail('the burst stopped');
        }
      },
    };
  }

  /**
   * Every key created so far has had exactly one KeyCreated email, to its contact. Returns the
   * median and longest delay from creation to email among the keys created since `since`.
   */
  async function everyKeyEmailedOnce(timeoutMs: number, since = 0): Promise<{ p50: number; max: number }> {
    const received = async () => {
      const counts = new Map<string, number>();
      for (const m of await mailpit.search(`to:"@${emailDomain}"`))
        for (const to of m.To) counts.set(to.Address, (counts.get(to.Address) ?? 0) + 1);
      return counts;
    };
    await until('every created key emailed', async () => (await received()).size >= created.length, timeoutMs);
    // Duplicates would come right behind the originals: look once more after a moment.
    await sleep(1_000);
    const counts = await received();
    const contacts = new Set(created.map((k) => k.contact));
    assert.deepEqual(
      [...counts.keys()].filter((to) => !contacts.has(to)),
      [],
      'no email to anyone else',
    );
    assert.deepEqual(
      [...counts].filter(([, n]) => n !== 1),
      [],
      'exactly one email per created key',
    );
    const messages = await mailpit.search(`to:"@${emailDomain}"`);
    const sentAt = new Map(messages.map((m) => [m.To[0].Address, Date.parse(m.Created)]));
    const delays = created
      .slice(since)
      .map((k) => (sentAt.get(k.contact) ?? Infinity) - k.createdAt)
      .sort((a, b) => a - b);
    return { p50: delays[Math.floor(delays.length / 2)], max: delays[delays.length - 1] };
  }

  /** Every partition of key events has a leader and `replicas` in sync. */
  async function inSyncReplicas(replicas: number): Promise<boolean> {
    const partitions = await cluster.partitions(keyEventsTopic).catch(() => []);
    return partitions.length > 0 && partitions.every((p) => p.leader >= 0 && p.isr.length === replicas);
  }

  /**
   * Replicas in sync, and every consumer group of ours on key events stable and at the end of it;
   * otherwise what is not. The verification cache's group (key-service-cache-…) starts at the newest
   * event and commits a partition only once an event arrives there: nothing committed means at the
   * end, for it alone (kafkajs restarts it there too after a crash, tulios/kafkajs#590).
   */
  async function settled(replicas: number): Promise<true | string> {
    if (!(await inSyncReplicas(replicas))) return `not all ${replicas} replicas in sync`;
    return cluster
      .withAdmin(async (admin): Promise<true | string> => {
        const ends = new Map((await admin.fetchTopicOffsets(keyEventsTopic)).map((p) => [p.partition, Number(p.high)]));
        const groups = (await admin.listGroups()).groups
          .map((g) => g.groupId)
          .filter((id) => id.startsWith(env.KAFKA_TOPIC_NAMESPACE));
        const described = await admin.describeGroups(groups);
        for (const group of described.groups) {
          const [offsets] = await admin.fetchOffsets({ groupId: group.groupId, topics: [keyEventsTopic] });
          const consumesKeyEvents = offsets.partitions.some((p) => Number(p.offset) >= 0);
          if (!consumesKeyEvents) continue;
          if (group.state !== 'Stable' || group.members.length === 0)
            return `${group.groupId} ${group.state} with ${group.members.length} members`;
          const startsAtEnd = group.groupId.startsWith(`${env.KAFKA_TOPIC_NAMESPACE}key-service-cache-`);
          const behind = offsets.partitions.filter(
            (p) => Number(p.offset) < (ends.get(p.partition) ?? 0) && !(startsAtEnd && Number(p.offset) < 0),
          );
          if (behind.length > 0)
            return `${group.groupId} behind on ${behind.map((p) => `${p.partition}: ${p.offset}/${ends.get(p.partition)}`).join(', ')}`;
        }
        return true;
      })
      .catch((error: Error) => error.message);
  }

  const longestGap = (times: number[]) =>
    [...times].sort((a, b) => a - b).reduce((gap, t, i, all) => (i === 0 ? 0 : Math.max(gap, t - all[i - 1])), 0);

  before(async () => {
    [cluster, database] = await Promise.all([KafkaCluster.start(), FerretDbServer.start()]);
    const mongoUri = (db: string) => database.uri(`kw_${db}`);
    const clusterEnv = { ...env, KAFKA_BROKERS: cluster.brokers, KAFKA_REPLICATION_FACTOR: '3' };
    services = await Promise.all([
      ServiceProcess.start(
        'key-service',
        {
          ...clusterEnv,
          MONGO_URI: mongoUri('keys'),
          VERIFY_SERVICE_TOKENS: SERVICE_TOKEN,
          KEY_MAX_ACTIVE_PER_OWNER: '1000',
          // A burst of creations from one account: this tests the brokers, not the key-change limit.
          KEY_CHANGES_PER_HOUR: '1000',
        },
        { timeoutMs: 60_000 },
      ),
      ServiceProcess.start(
        'notification-service',
        { ...clusterEnv, MONGO_URI: mongoUri('notifications') },
        {
          timeoutMs: 60_000,
        },
      ),
      ServiceProcess.start('scheduler-service', { ...clusterEnv, MONGO_URI: mongoUri('keys') }, { timeoutMs: 60_000 }),
    ]);
    keyService = services[0];
    token = await loggedInUser(mongoUri('keys'), `burst@${emailDomain}`);
  });

  after(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await Promise.all([cluster?.stop(), database?.stop()]);
  });

  it('creates topics with three replicas, two of them required in sync', async () => {
    const partitions = await cluster.partitions(keyEventsTopic);
    assert.ok(partitions.length > 0);
    for (const p of partitions) assert.equal(p.isr.length, 3, `partition ${p.partition}`);
    const minInsync = await cluster.withAdmin(async (admin) => {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2 /* topic */, name: keyEventsTopic, configNames: ['min.insync.replicas'] }],
      });
      return resources[0].configEntries[0].configValue;
    });
    assert.equal(minInsync, '2');
  });

  it('crashes the leader of the key events mid-burst and brings it back: every email once, verification answers', async (t: TestContext) => {
    const load = burst();
    await load.untilCreated(4);
    const victim = await cluster.busiestLeader(keyEventsTopic);
    const crashedAt = Date.now();
    await cluster.stopNode(victim, { crash: true });
    // Down until the controller has noticed and moved the crashed node's leaderships, and for 4 more keys.
    const movedAway = async () =>
      (await cluster.partitions(keyEventsTopic).catch(() => [])).every((p) => p.leader >= 0 && p.leader !== victim);
    const [failoverMs] = await Promise.all([
      until('leaderships moved off the crashed node', movedAway, 60_000),
      load.untilCreated(created.length + 4),
    ]);
    // Creations end while the node starts again (enough to follow the loss, few enough that emails
    // never queue up behind them); verifications go on until it is back in every partition.
    const backAt = Date.now();
    const restarted = cluster.startStopped();
    await load.untilCreated(created.length + 2);
    await load.stopCreating();
    await restarted;
    const restartMs = Date.now() - backAt;
    const inSyncMs = await until('the returning node back in sync', () => inSyncReplicas(3), 60_000);
    await load.stop();

    const emailDelay = await everyKeyEmailedOnce(90_000);
    await until('consumers caught up', () => settled(3), 60_000);
    const gapMs = longestGap(load.answeredAt);
    t.diagnostic(
      `crashed node ${victim} (leader of most key-events partitions) after 4 keys; ${created.length} keys created, ` +
        `${load.answeredAt.length} verifications; leaders moved ${failoverMs} ms after the crash; ` +
        `longest verification gap ${gapMs} ms; ` +
        `creation to email p50 ${emailDelay.p50} ms, longest ${emailDelay.max} ms; node down ${backAt - crashedAt} ms, ready ${restartMs} ms ` +
        `after its start, all key-events replicas in sync ${inSyncMs} ms later`,
    );
    assert.ok(gapMs < 5_000, `verification stalled for ${gapMs} ms`);
  });

  it('keeps working with one broker down: keys, verifications and emails on two', async (t: TestContext) => {
    const down = await cluster.controller();
    await cluster.stopNode(down);
    const before = created.length;
    await Promise.all(Array.from({ length: 4 }, async () => verify(await createKey())));
    const emailDelay = await everyKeyEmailedOnce(60_000, before);
    const partitions = await cluster.partitions(keyEventsTopic);
    for (const p of partitions) {
      assert.notEqual(p.leader, down, `partition ${p.partition} led by the stopped node`);
      assert.deepEqual(p.isr.includes(down), false);
    }
    await until('consumers caught up on two brokers', () => settled(2), 60_000);
    t.diagnostic(
      `stopped node ${down} (the active controller); ${created.length - before} more keys created and verified on two ` +
        `brokers; creation to email p50 ${emailDelay.p50} ms, longest ${emailDelay.max} ms`,
    );
  });
});
