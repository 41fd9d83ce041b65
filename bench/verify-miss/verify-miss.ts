/**
 * A new key's first verification: the cache misses and key-service looks the key up by its hash
 * among FILL other keys. MISSES keys are created over the API after the fill, then each is verified
 * once (a miss) and once more (a hit) on the internal listener, one request at a time; p50 / p99 of
 * both. MongoDB answers the miss from the unique `hash` index; FerretDB v1 scans the collection
 * (docs/stack.md), so on the local stack the miss grows with FILL.
 *
 *   npm run bench:verify-miss               (the stack must be running)
 *   FILL=10000 MISSES=50 npm run bench:verify-miss
 */
import { performance } from 'node:perf_hooks';
import mongoose from 'mongoose';
import { freePort, isolatedEnv, ServiceProcess } from '@keyward/testing';
import { DAY_MS } from '@keyward/contracts';
import { loggedInUser } from '../../test/support/accounts';
import { keyDocument } from '../../test/support/key-documents';

const FILL = Number(process.env.FILL ?? 100_000);
const KEYS = Number(process.env.MISSES ?? 100);
const BATCH = 10_000;
const SERVICE_TOKEN = 'bench-verify-miss-service-token-0123456789abcdef';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** Other owners' keys, as key-service stores them (their hashes match no key the bench holds). */
async function fill(mongoUri: string): Promise<number> {
  const db = await mongoose.createConnection(mongoUri).asPromise();
  const started = performance.now();
  try {
    for (let i = 0; i < FILL; i += BATCH) {
      const docs = Array.from({ length: Math.min(BATCH, FILL - i) }, (_, j) => {
        const n = i + j;
        const createdAt = new Date(Date.now() - (n % 90) * DAY_MS);
        return keyDocument({
          owner: { userId: `fill-${n % 5000}`, email: `owner${n % 5000}@fill.example.com`, timeZone: 'UTC' },
          contacts: [`ops${n % 5000}@fill.example.com`],
          createdAt,
          // Scheduled, as key-service schedules every key it creates (else it would at start-up).
          nextReminderAt: new Date(createdAt.getTime() + 150 * DAY_MS),
        });
      });
      await db.collection('keys').insertMany(docs, { ordered: false });
    }
  } finally {
    await db.close();
  }
  return performance.now() - started;
}

/** Each key verified once, one request at a time: the milliseconds of each answer. */
async function verifyEach(url: string, keys: string[]): Promise<number[]> {
  const took: number[] = [];
  for (const key of keys) {
    const started = performance.now();
    const res = await fetch(`${url}/v1/keys/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-service-token': SERVICE_TOKEN },
      body: JSON.stringify({ key }),
    });
    const answer = (await res.json()) as { valid?: boolean };
    took.push(performance.now() - started);
    if (answer.valid !== true) throw new Error(`a bench key did not verify: ${res.status} ${JSON.stringify(answer)}`);
  }
  return took.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const fillMs = await fill(mongoUri('keys'));
  const internalPort = await freePort();
  const keyService = await ServiceProcess.start(
    'key-service',
    {
      ...env,
      MONGO_URI: mongoUri('keys'),
      LOG_LEVEL: 'warn',
      VERIFY_SERVICE_TOKENS: SERVICE_TOKEN,
      VERIFY_HTTP_PORT: String(internalPort),
      KEY_MAX_ACTIVE_PER_OWNER: String(KEYS),
      // One account creates every key of the bench.
      KEY_CHANGES_PER_HOUR: String(KEYS),
    },
    { timeoutMs: 120_000 },
  );
  try {
    const token = await loggedInUser(mongoUri('keys'), `bench@${emailDomain}`);
    const keys: string[] = [];
    const creating = performance.now();
    for (let i = 0; i < KEYS; i++) {
      const res = await fetch(`${keyService.url}/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ label: `bench ${i}`, contacts: [`c${i}@${emailDomain}`] }),
      });
      if (res.status !== 201) throw new Error(`POST /v1/keys answered ${res.status}: ${await res.text()}`);
      keys.push(((await res.json()) as { key: string }).key);
    }
    const createMs = performance.now() - creating;
    const internalUrl = `http://127.0.0.1:${internalPort}`;
    const misses = await verifyEach(internalUrl, keys);
    const hits = await verifyEach(internalUrl, keys);
    const ms = (x: number) => x.toFixed(1);
    console.log(`\n## verify-miss\n`);
    console.log(
      `${new Date().toISOString()}, node ${process.version}, MONGO_PORT ${process.env.MONGO_PORT ?? 27017}: ` +
        `${KEYS} new keys among ${FILL.toLocaleString('en')} (filled in ${(fillMs / 1000).toFixed(1)} s, ` +
        `the new keys created over the API in ${(createMs / 1000).toFixed(1)} s), ` +
        `internal listener, one request at a time\n`,
    );
    console.log('| verification | p50 ms | p99 ms | max ms |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const [name, took] of [
      ['first (cache miss, lookup by hash)', misses],
      ['second (cache hit)', hits],
    ] as const)
      console.log(
        `| ${name} | ${ms(percentile(took, 50))} | ${ms(percentile(took, 99))} | ${ms(took[took.length - 1])} |`,
      );
  } finally {
    await keyService.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
