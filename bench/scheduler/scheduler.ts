/**
 * Cost of one reminder pass as the keys collection grows: 1,000 keys due among each of SIZES keys
 * (inserted in bulk into a bench database, with the reminder calendar key-service would have
 * written for them), measured in the same run. Target (issue 14): the pass at 1M keys at most 2x
 * the pass at 10k. Reports the calendar pass (what runs every minute; the real ReminderScanService
 * booted in this process, sending its commands to Kafka) and the full scan it keeps as an hourly
 * safety net, with the plans the server reports for their queries.
 *
 *   npm run bench:scheduler                          (the stack must be running)
 *   SIZES=10000,100000 FULL_SCAN_UP_TO=100000 REPEAT=5 npm run bench:scheduler
 *   MONGO_PORT=27217 npm run bench:scheduler         (another FerretDB or MongoDB)
 */
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import mongoose from 'mongoose';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  CALENDAR_MINUTE_MS,
  CalendarMinute,
  calendarMinuteId,
  calendarMinuteOf,
  DAY_MS,
  KEY_REMINDER_INDEX,
  KEYS_COLLECTION,
  REMINDER_CALENDAR_COLLECTION,
} from '@keyward/contracts';
import { stack } from '@keyward/testing';
import { KeyStatus } from '../../apps/key-service/src/keys/key.schema';
import { keyDocument } from '../../test/support/key-documents';

// The driver mongoose bundles: no separate dependency.
const { MongoClient } = mongoose.mongo;
type MongoClient = mongoose.mongo.MongoClient;

const SIZES = (process.env.SIZES ?? '10000,100000,1000000').split(',').map(Number);
const DUE = Number(process.env.DUE ?? 1_000);
const REPEAT = Number(process.env.REPEAT ?? 3);
// A full scan reads every key on FerretDB (no secondary index): minutes at 1M keys, so by default it
// is measured only up to 10k (the calendar pass is what runs every minute).
const FULL_SCAN_UP_TO = Number(process.env.FULL_SCAN_UP_TO ?? 10_000);
const BATCH = 10_000;
const id = randomBytes(3).toString('hex');

/**
 * When key `i` is due: `due` ones fell due 2 to 61 minutes ago; the others are due at spread-out
 * times 10 to 140 days ahead, as keys created at any time of day are.
 */
function dueTime(i: number, due: boolean, now: number): Date {
  return due
    ? new Date(now - (2 + (i % 60)) * CALENDAR_MINUTE_MS - (i % 50) * 1000)
    : new Date(now + 10 * DAY_MS + ((i * 2_654_435_761) % (130 * DAY_MS)));
}

/** A key document as key-service stores it, due at `nextReminderAt`. */
function keyDoc(i: number, due: boolean, nextReminderAt: Date) {
  const expiresAt = new Date(nextReminderAt.getTime() + 30 * DAY_MS);
  return keyDocument({
    owner: {
      userId: `bench-owner-${i % 5000}`,
      email: `owner${i % 5000}@bench.example.com`,
      timeZone: 'Asia/Singapore',
    },
    label: `key ${i}`,
    contacts: [`ops${i % 5000}@bench.example.com`],
    createdAt: new Date(expiresAt.getTime() - 181 * DAY_MS),
    expiresAt,
    // Most keys wait for a reminder weeks away; some are revoked or expired (never due).
    status: due || i % 10 !== 0 ? KeyStatus.Active : i % 20 === 0 ? KeyStatus.Revoked : KeyStatus.Expired,
    nextReminderAt,
  });
}

/** Inserts `total` keys and, minute by minute, the calendar entries key-service lists them in. */
async function fill(client: MongoClient, db: string, total: number, now: number): Promise<number> {
  const keys = client.db(db).collection(KEYS_COLLECTION);
  // The index key-service declares for the full scan (Key schema), created before the data as in production.
  await keys.createIndex(KEY_REMINDER_INDEX);
  const minutes = new Map<string, string[]>();
  const started = performance.now();
  const every = Math.floor(total / DUE);
  for (let i = 0; i < total; i += BATCH) {
    const docs = [];
    for (let j = i; j < Math.min(total, i + BATCH); j++) {
      const due = j % every === 0 && j / every < DUE;
      const dueAt = dueTime(j, due, now);
      const doc = keyDoc(j, due, dueAt);
      docs.push(doc);
      // Listed when its due time was set (revoked and expired keys were listed too, and stay).
      const minute = calendarMinuteId(calendarMinuteOf(dueAt));
      const listed = minutes.get(minute);
      if (listed) listed.push(doc._id.toHexString());
      else minutes.set(minute, [doc._id.toHexString()]);
    }
    await keys.insertMany(docs, { ordered: false });
    if ((i + BATCH) % 100_000 === 0) {
      const rate = ((i + BATCH) / (performance.now() - started)) * 1000;
      console.error(`  ${db}: ${(i + BATCH).toLocaleString('en')} keys inserted (${rate.toFixed(0)}/s)`);
    }
  }
  const calendar = client.db(db).collection<CalendarMinute>(REMINDER_CALENDAR_COLLECTION);
  const entries = [...minutes].map(([_id, keyIds]) => ({ _id, keyIds }));
  for (let i = 0; i < entries.length; i += BATCH) await calendar.insertMany(entries.slice(i, i + BATCH));
  console.error(`  ${db}: ${entries.length.toLocaleString('en')} calendar minutes inserted`);
  return performance.now() - started;
}

/** One scheduler for the whole run: its configuration (and database) is fixed when its module first loads. */
async function scheduler(db: string): Promise<INestApplicationContext> {
  Object.assign(process.env, {
    MONGO_URI: `${stack.mongoUrl}/${db}`,
    KAFKA_BROKERS: stack.kafkaBrokers,
    KAFKA_REPLICATION_FACTOR: stack.kafkaReplicationFactor,
    KAFKA_TOPIC_NAMESPACE: `bench.${id}.`,
    LOG_LEVEL: 'warn',
    REMINDER_SCAN_CRON: '0 0 0 1 1 *',
  });
  const { SchedulerServiceModule } = await import('../../apps/scheduler-service/src/app.module');
  return NestFactory.createApplicationContext(SchedulerServiceModule, { logger: ['error', 'warn'] });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(client: MongoClient, app: INestApplicationContext, db: string, size: number) {
  const now = Date.now();
  const insertMs = await fill(client, db, size, now);
  const database = client.db(db);
  const { ReminderScanService } = await import('../../apps/scheduler-service/src/reminders/reminder-scan.service');
  const scan = app.get(ReminderScanService);
  const progress = database.collection<{ _id: string; fullScanAt: Date; calendarReadTo: Date }>(
    'reminder_scan_progress',
  );
  /** One pass, with no command in flight and the progress another scheduler would have left. */
  const pass = async (fullScanAt: Date, calendarReadTo: Date) => {
    await database.collection('reminder_command_leases').deleteMany({});
    await progress.updateOne({ _id: 'reminders' }, { $set: { fullScanAt, calendarReadTo } }, { upsert: true });
    return scan.runPass();
  };
  const hourAgo = new Date(Math.floor(now / CALENDAR_MINUTE_MS) * CALENDAR_MINUTE_MS - 64 * CALENDAR_MINUTE_MS);
  const passes: number[] = [];
  let full = 'not run';
  try {
    // Warm-up: connections, topic metadata.
    await pass(new Date(), hourAgo);
    for (let r = 0; r < REPEAT; r++) {
      // The last full scan a minute ago; the calendar read up to an hour ago: ~64 minutes to read.
      const result = await pass(new Date(Date.now() - CALENDAR_MINUTE_MS), hourAgo);
      if (result.full || result.keysDue !== DUE || result.commandsSent !== DUE) {
        throw new Error(`calendar pass: ${JSON.stringify(result)}, expected ${DUE} due and sent`);
      }
      passes.push(result.durationMs);
    }
    if (size <= FULL_SCAN_UP_TO) {
      // Its queries can outlast the driver's monitor timeout behind the stand-in's one-at-a-time proxy.
      const result = await pass(new Date(0), hourAgo).catch((error: Error) => error.message);
      if (typeof result === 'string') full = `failed: ${result}`;
      else if (!result.full || result.keysDue !== DUE) throw new Error(`full scan: ${JSON.stringify(result)}`);
      else full = `${result.durationMs.toFixed(0)} ms`;
    }
    const minutePlan = await database
      .collection<CalendarMinute>(REMINDER_CALENDAR_COLLECTION)
      .find({ _id: calendarMinuteId(new Date(hourAgo.getTime() + 30 * CALENDAR_MINUTE_MS)) })
      .explain();
    return { size, insertMs, passMs: median(passes), full, minutePlan };
  } finally {
    await database.dropDatabase();
  }
}

async function main(): Promise<void> {
  // Generous timeouts: FerretDB stalls for many seconds while it writes large batches.
  const client = await MongoClient.connect(stack.mongoUrl, { connectTimeoutMS: 120_000, socketTimeoutMS: 0 });
  try {
    const db = `kw_bench_scheduler_${id}`;
    const app = await scheduler(db);
    const results = [];
    try {
      for (const size of SIZES) results.push(await measure(client, app, db, size));
    } finally {
      await app.close();
    }
    console.log(`\nreminder pass, ${DUE} keys due, median of ${REPEAT} calendar passes (page size 500)\n`);
    console.log(
      '| keys | bulk insert (keys + calendar) | calendar pass (64 minutes read, 1000 sends) | full scan (safety net) |',
    );
    console.log('| ---: | ---: | ---: | ---: |');
    for (const r of results) {
      console.log(
        `| ${r.size.toLocaleString('en')} | ${(r.insertMs / 1000).toFixed(1)} s | ${r.passMs.toFixed(0)} ms | ${r.full} |`,
      );
    }
    const [first, last] = [results[0], results[results.length - 1]];
    console.log(
      `\npass(${last.size.toLocaleString('en')}) / pass(${first.size.toLocaleString('en')}) = ${(last.passMs / first.passMs).toFixed(2)}x (target ≤ 2x)`,
    );
    const plan = last.minutePlan as Record<string, unknown>;
    console.log(`calendar minute lookup plan: ${JSON.stringify(plan.queryPlanner)}`);
  } finally {
    await client.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
