/**
 * Cost of one reminder scan pass as the keys collection grows: 1,000 keys due among SMALL keys
 * and among LARGE keys (inserted in bulk into a bench database), measured in the same run.
 * Target (DESIGN.md): the large pass at most 2x the small one. Reports the pass with its command
 * sends (the real ReminderScanService, booted in this process) and the query alone, and the plan
 * the server reports for the query.
 *
 *   npm run bench:scheduler                       (the stack must be running)
 *   LARGE=1000000 REPEAT=5 npm run bench:scheduler
 */
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import mongoose from 'mongoose';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { stack } from '@keyward/testing';
import { KeyStatus } from '../../apps/key-service/src/keys/key.schema';
import { keyDocument } from '../../test/support/key-documents';

// The driver mongoose bundles: no separate dependency.
const { MongoClient } = mongoose.mongo;
type MongoClient = mongoose.mongo.MongoClient;

const SMALL = Number(process.env.SMALL ?? 10_000);
// 1,000,000 is the target size, but bulk-inserting it stalls the local FerretDB (docs/stack.md):
// ask for it with LARGE=1000000 against a real MongoDB (MONGO_PORT / KAFKA_BROKERS as for tests).
const LARGE = Number(process.env.LARGE ?? 100_000);
const DUE = Number(process.env.DUE ?? 1_000);
const REPEAT = Number(process.env.REPEAT ?? 3);
const BATCH = 10_000;
const DAY = 86_400_000;
const id = randomBytes(3).toString('hex');

/** A key document as key-service stores it; `due` ones have their reminder in the past. */
function keyDoc(i: number, due: boolean, now: number) {
  const expiresAt = new Date(due ? now + 20 * DAY : now + (40 + (i % 140)) * DAY);
  return keyDocument({
    owner: {
      userId: `bench-owner-${i % 5000}`,
      email: `owner${i % 5000}@bench.example.com`,
      timeZone: 'Asia/Singapore',
    },
    label: `key ${i}`,
    contacts: [`ops${i % 5000}@bench.example.com`],
    createdAt: new Date(expiresAt.getTime() - 181 * DAY),
    expiresAt,
    // Most keys wait for a reminder weeks away; some are revoked or expired (never scanned).
    status: due || i % 10 !== 0 ? KeyStatus.Active : i % 20 === 0 ? KeyStatus.Revoked : KeyStatus.Expired,
    nextReminderAt: new Date(due ? now - (i % 60) * 60_000 : expiresAt.getTime() - 30 * DAY),
  });
}

async function fill(client: MongoClient, db: string, total: number): Promise<number> {
  const keys = client.db(db).collection('keys');
  await keys.drop().catch(() => undefined);
  // The index key-service declares for the scan (Key schema), created before the data as in production.
  await keys.createIndex({ status: 1, nextReminderAt: 1, _id: 1 });
  const now = Date.now();
  const started = performance.now();
  for (let i = 0; i < total; i += BATCH) {
    const docs = [];
    for (let j = i; j < Math.min(total, i + BATCH); j++) docs.push(keyDoc(j, j % Math.floor(total / DUE) === 0, now));
    await keys.insertMany(docs, { ordered: false });
    if ((i + BATCH) % 100_000 === 0) {
      const rate = ((i + BATCH) / (performance.now() - started)) * 1000;
      console.error(`  ${db}: ${(i + BATCH).toLocaleString('en')} keys inserted (${rate.toFixed(0)}/s)`);
    }
  }
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
  const insertMs = await fill(client, db, size);
  const due = await client
    .db(db)
    .collection('keys')
    .countDocuments({ status: 'active', nextReminderAt: { $lte: new Date() } });
  const explain = await client
    .db(db)
    .collection('keys')
    .find({ status: 'active', nextReminderAt: { $lte: new Date() } })
    .sort({ nextReminderAt: 1, _id: 1 })
    .limit(500)
    .explain();

  const { ReminderScanService } = await import('../../apps/scheduler-service/src/reminders/reminder-scan.service');
  const { DueKeysRepository } = await import('../../apps/scheduler-service/src/reminders/due-keys.repository');
  const scan = app.get(ReminderScanService);
  const repo = app.get(DueKeysRepository);
  const passes: number[] = [];
  const queries: number[] = [];
  try {
    await scan.runPass(); // warm-up: connections, topic metadata
    for (let r = 0; r < REPEAT; r++) {
      const pass = await scan.runPass();
      if (pass.keysDue !== due) throw new Error(`pass found ${pass.keysDue} due keys, expected ${due}`);
      passes.push(pass.durationMs);
      const started = performance.now();
      let after;
      let found = 0;
      for (;;) {
        const page = await repo.duePage(new Date(), after, 500);
        found += page.length;
        if (page.length < 500) break;
        after = page[page.length - 1];
      }
      queries.push(performance.now() - started);
      if (found !== due) throw new Error(`query found ${found}, expected ${due}`);
    }
  } finally {
    await client.db(db).dropDatabase();
  }
  return { size, due, insertMs, passMs: median(passes), queryMs: median(queries), explain };
}

async function main(): Promise<void> {
  // Generous timeouts: FerretDB stalls for many seconds while it writes large batches.
  const client = await MongoClient.connect(stack.mongoUrl, { connectTimeoutMS: 120_000, socketTimeoutMS: 0 });
  try {
    const db = `kw_bench_scheduler_${id}`;
    const app = await scheduler(db);
    let small, large;
    try {
      small = await measure(client, app, db, SMALL);
      large = await measure(client, app, db, LARGE);
    } finally {
      await app.close();
    }
    const row = (r: typeof small) =>
      `| ${r.size.toLocaleString('en')} | ${r.due} | ${(r.insertMs / 1000).toFixed(1)} s | ${r.passMs.toFixed(0)} ms | ${r.queryMs.toFixed(0)} ms |`;
    console.log(`\nscheduler scan, median of ${REPEAT} passes (page size 500)\n`);
    console.log('| keys | due | bulk insert | pass (query + sends) | query alone |');
    console.log('| ---: | ---: | ---: | ---: | ---: |');
    console.log(row(small));
    console.log(row(large));
    console.log(
      `\nlarge / small: pass ${(large.passMs / small.passMs).toFixed(2)}x, query ${(large.queryMs / small.queryMs).toFixed(2)}x (target ≤ 2x)`,
    );
    const plan = large.explain as Record<string, unknown>;
    console.log(
      `plan: ${JSON.stringify(plan.queryPlanner)} filterPushdown=${String(plan.filterPushdown)} sortPushdown=${String(plan.sortPushdown)}`,
    );
  } finally {
    await client.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
