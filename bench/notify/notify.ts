/**
 * notification-service benchmarks, in one run:
 *  1. render rate on one core: emails rendered per second with the templates compiled once at
 *     start-up, against a baseline that loads and compiles the templates for every email;
 *  2. latency from key creation (the HTTP 201 from key-service) to the email in Mailpit (its
 *     receive time, via the API), at p50 / p99 over KEYS keys created one after another.
 * Targets (DESIGN.md): thousands of renders per second per core; p50 < 250 ms, p99 < 1 s.
 *
 *   npm run bench:notify               (the stack must be running: npm run stack:start)
 *   KEYS=500 npm run bench:notify
 */
import { isolatedEnv, Mailpit, ServiceProcess, sleep } from '@keyward/testing';
import { sampleEmails, sampleMessages } from '../../apps/notification-service/src/emails/sample-messages';
import mongoose from 'mongoose';
import { loggedInUser } from '../../test/support/accounts';

const KEYS = Number(process.env.KEYS ?? 300);
const RENDER_SECONDS = Number(process.env.RENDER_SECONDS ?? 3);
// The machine is shared: give start-up room.
const START = { timeoutMs: 120_000 };

/** Emails rendered per second for `seconds`, cycling through every sample message. */
function renderRate(render: (i: number) => void, seconds: number): number {
  for (let i = 0; i < 200; i++) render(i); // warm-up
  const end = performance.now() + seconds * 1000;
  let n = 0;
  while (performance.now() < end) for (let k = 0; k < 50; k++) render(n++);
  return n / seconds;
}

function renderBench() {
  const samples = Object.values(sampleMessages());
  const work = samples.map((m) => ({ message: m, to: sampleEmails().recipients(m)[0].address }));
  const compiledOnce = sampleEmails();
  const once = renderRate((i) => {
    const { message, to } = work[i % work.length];
    compiledOnce.compose(message, to);
  }, RENDER_SECONDS);
  const perEmail = renderRate((i) => {
    const { message, to } = work[i % work.length];
    sampleEmails().compose(message, to);
  }, RENDER_SECONDS / 3);
  return { once, perEmail };
}

const sortedFinite = (ms: number[]) => ms.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function latencyBench() {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const [keyService, notificationService] = await Promise.all([
    ServiceProcess.start(
      'key-service',
      {
        ...env,
        MONGO_URI: mongoUri('keys'),
        LOG_LEVEL: 'warn',
        KEY_MAX_ACTIVE_PER_OWNER: String(KEYS),
        // One account creates every key of the bench.
        KEY_CHANGES_PER_HOUR: String(KEYS),
      },
      START,
    ),
    ServiceProcess.start(
      'notification-service',
      { ...env, MONGO_URI: mongoUri('notifications'), LOG_LEVEL: 'warn' },
      START,
    ),
  ]);
  try {
    const token = await loggedInUser(mongoUri('keys'), `bench@${emailDomain}`);
    const mailpit = new Mailpit();
    const created = new Map<string, number>();
    for (let i = 0; i < KEYS; i++) {
      const contact = `c${i}@${emailDomain}`;
      const res = await fetch(`${keyService.url}/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ label: `bench ${i}`, contacts: [contact] }),
      });
      const answered = Date.now();
      if (res.status !== 201) throw new Error(`POST /v1/keys answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
      created.set(contact, answered);
    }
    const deadline = Date.now() + 60_000;
    let arrived = await mailpit.search(`to:"@${emailDomain}"`);
    while (arrived.length < KEYS && Date.now() < deadline) {
      await sleep(250);
      arrived = await mailpit.search(`to:"@${emailDomain}"`);
    }
    const answeredAt = (m: { To: { Address: string }[] }) => created.get(m.To[0].Address) ?? NaN;
    const latencies = sortedFinite(arrived.map((m) => Date.parse(m.Created) - answeredAt(m)));
    // Where the time goes: until notification-service recorded the delivery (outbox relay, Kafka,
    // consumer), then from there to Mailpit (attempt, SMTP, Mailpit storing it).
    const db = await mongoose.createConnection(mongoUri('notifications')).asPromise();
    const recorded = new Map(
      (
        await db
          .collection('deliveries')
          .find({}, { projection: { recipient: 1, createdAt: 1 } })
          .toArray()
      ).map((d) => [d.recipient as string, (d.createdAt as Date).getTime()]),
    );
    await db.close();
    const toConsumer = sortedFinite(arrived.map((m) => (recorded.get(m.To[0].Address) ?? NaN) - answeredAt(m)));
    const toMailpit = sortedFinite(arrived.map((m) => Date.parse(m.Created) - (recorded.get(m.To[0].Address) ?? NaN)));
    return { sent: KEYS, arrived: arrived.length, latencies, toConsumer, toMailpit };
  } finally {
    await Promise.all([keyService.stop(), notificationService.stop()]);
  }
}

async function main(): Promise<void> {
  const render = renderBench();
  const latency = await latencyBench();
  const l = latency.latencies;
  const p50 = percentile(l, 50);
  const p99 = percentile(l, 99);
  const ok = (b: boolean) => (b ? 'met' : 'MISSED');
  const lines = [
    `measured ${new Date().toISOString()}, node ${process.version}, ${KEYS} keys`,
    '',
    '| measure | value | baseline (same run) | ratio | target |',
    '| --- | --- | --- | --- | --- |',
    `| renders per second, one core, templates compiled once | ${Math.round(render.once)} | ${Math.round(render.perEmail)} (templates loaded and compiled per email) | ${(render.once / render.perEmail).toFixed(0)}x | thousands/s: ${ok(render.once >= 1000)} |`,
    `| key created (HTTP 201) → email in Mailpit, p50 | ${p50} ms | | | < 250 ms: ${ok(p50 < 250)} |`,
    `| key created (HTTP 201) → email in Mailpit, p99 | ${p99} ms | | | < 1000 ms: ${ok(p99 < 1000)} |`,
    `| emails arrived / keys created | ${latency.arrived} / ${latency.sent} | | | all |`,
    '',
    `latency min ${l[0]} ms, p90 ${percentile(l, 90)} ms, max ${l[l.length - 1]} ms; of which`,
    `- HTTP 201 → delivery recorded by notification-service (outbox relay, Kafka, consumer): p50 ${percentile(latency.toConsumer, 50)} ms, p99 ${percentile(latency.toConsumer, 99)} ms`,
    `- delivery recorded → stored by Mailpit (attempt, SMTP): p50 ${percentile(latency.toMailpit, 50)} ms, p99 ${percentile(latency.toMailpit, 99)} ms`,
  ];
  console.log(lines.join('\n'));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
