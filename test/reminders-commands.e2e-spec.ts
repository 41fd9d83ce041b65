import mongoose from 'mongoose';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseRecordReminderDue } from '@keyward/contracts';
import { isolatedEnv, readNamespaceTopics } from '@keyward/testing';
import { InProcessScheduler, TestClock } from './support/schedulers';

const KEYS = 300;
const MINUTE = 60_000;
const LEASE_MS = 10 * MINUTE;

/**
 * A large batch of keys due at one instant, with key-service not consuming (as when it is slower
 * than the scan): racing schedulers send each key's command once, later passes send nothing while
 * it is in flight, and a command whose lease lapsed is sent once more.
 */
describe('reminder commands are not re-sent while in flight', () => {
  const { env, mongoUri } = isolatedEnv();
  const due = new Date(Date.UTC(2027, 0, 1));
  const clock = new TestClock(new Date(due.getTime() + MINUTE));
  const schedulers: InProcessScheduler[] = [];
  let db: mongoose.Connection;

  /** RecordReminderDue commands on this file's topic, counted per key. */
  async function commandsPerKey(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const { topic, text } of await readNamespaceTopics(env.KAFKA_TOPIC_NAMESPACE)) {
      if (!topic.includes('key-reminder-commands')) continue;
      const value = text.slice(text.indexOf(' ') + 1, text.lastIndexOf('}') + 1);
      const { keyId } = parseRecordReminderDue(value);
      counts.set(keyId, (counts.get(keyId) ?? 0) + 1);
    }
    return counts;
  }

  async function passes(): Promise<{ keysDue: number[]; sent: number }> {
    const results = await Promise.all(schedulers.map((s) => s.pass()));
    return { keysDue: results.map((r) => r.keysDue), sent: results.reduce((n, r) => n + r.commandsSent, 0) };
  }

  before(async () => {
    InProcessScheduler.configure({
      ...env,
      MONGO_URI: mongoUri('keys'),
      LOG_LEVEL: 'warn',
      REMINDER_SCAN_PAGE_SIZE: '40',
      REMINDER_SCAN_CRON: '0 0 0 1 1 *',
      REMINDER_COMMAND_LEASE_MS: String(LEASE_MS),
      // The keys below are stored without calendar entries (as the previous version stored them), so
      // every pass here, a minute or more after the one before, is the safety net's full scan: what
      // re-sends a command whose lease lapsed. The leases work the same for calendar passes.
      REMINDER_FULL_SCAN_EVERY_MS: String(MINUTE),
    });
    db = await mongoose.createConnection(mongoUri('keys')).asPromise();
    // Only the fields the scan reads: key-service is not running here.
    await db.collection('keys').insertMany(
      Array.from({ length: KEYS }, () => ({
        _id: new mongoose.Types.ObjectId(),
        status: 'active',
        nextReminderAt: due,
      })),
    );
    for (let i = 0; i < 3; i++) schedulers.push(await InProcessScheduler.start(clock));
  });

  after(async () => {
    await Promise.all(schedulers.map((s) => s.stop()));
    await db?.close();
  });

  it(`three racing schedulers send each of ${KEYS} keys due at once exactly one command, in one pass`, async () => {
    const first = await passes();
    assert.deepEqual(first.keysDue, [KEYS, KEYS, KEYS], 'each pass reads the whole batch');
    assert.equal(first.sent, KEYS);
    const counts = await commandsPerKey();
    assert.equal(counts.size, KEYS);
    assert.ok(
      [...counts.values()].every((n) => n === 1),
      'one command per key',
    );
  });

  it('sends nothing more while the commands are in flight, however many passes run', async () => {
    for (const minutes of [2, 5, 10]) {
      clock.set(due.getTime() + minutes * MINUTE);
      assert.equal((await passes()).sent, 0, `${minutes} minutes after`);
    }
    assert.ok([...(await commandsPerKey()).values()].every((n) => n === 1));
  });

  it('sends a command once more when its lease lapsed and the key is still due', async () => {
    clock.set(due.getTime() + MINUTE + LEASE_MS);
    assert.equal((await passes()).sent, KEYS);
    const counts = await commandsPerKey();
    assert.ok(
      [...counts.values()].every((n) => n === 2),
      'one more each, from one scheduler',
    );
  });
});
