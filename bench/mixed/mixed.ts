/**
 * Verification under write load, as a busy platform would see it: ACCOUNTS accounts create KEYS
 * keys through `POST /v1/keys`, CONCURRENCY requests at once, while VERIFIERS callers verify keys
 * on the internal listener at a fixed RATE; every new key is verified as soon as it is created
 * (its first verification, which no cache has seen), then joins the keys the callers verify.
 * The same callers first run alone for IDLE_SECONDS. Targets (issue 14): verification p99 during
 * creation within 2 times its idle p99 in the same run, first verifications included; creation at
 * least 50 keys/s on the local stack. It runs one key-service per VERIFY_THREAD_PRIORITY in
 * PRIORITIES (normal, then realtime), each with accounts of its own, and itself at real-time priority
 * where allowed (loadGeneratorInRealTime).
 *
 *   npm run bench:mixed                (the stack must be running: npm run stack:start)
 *   PRIORITIES=normal npm run bench:mixed
 *   LOAD_PRIORITY=normal npm run bench:mixed   (this bench at normal priority, waiting for cores like the rest)
 *   ACCOUNTS=25 KEYS=500 npm run bench:mixed
 *   PROFILE=bench/mixed/profiles npm run bench:mixed   (also a CPU profile of each key-service while it
 *                                       creates: .cpuprofile, flame graph .svg, hot spots; the sampler
 *                                       slows it, so such a run's figures are not the bench's)
 *
 * One account may create KEY_CHANGES_PER_HOUR keys an hour and hold KEY_MAX_ACTIVE_PER_OWNER
 * working keys (defaults 30 and 20): the bench raises both to what each account creates here.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { linuxThreadId, runInRealTime } from '@keyward/platform/real-time-priority';
import { freePort, isolatedEnv, SERVICE_NODE_OPTIONS, ServiceProcess, sleep } from '@keyward/testing';
import { loggedInUser } from '../../test/support/accounts';
import { benchCores, pinToCore } from '../support/cores';
import { profileWhile } from '../support/cpu-profile';
import { flameGraphSvg, hotSpots } from '../support/flame-graph';
import { keyServiceProductionSecrets } from '../support/production-secrets';
import { cpuMs } from '../support/process-usage';

const ACCOUNTS = Number(process.env.ACCOUNTS ?? 5);
const KEYS = Number(process.env.KEYS ?? 500);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 20);
const VERIFIERS = Number(process.env.VERIFIERS ?? 4);
/** Verifications per second, all callers together (first verifications of new keys come on top). */
const RATE = Number(process.env.RATE ?? 200);
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 10);
const PROFILE = process.env.PROFILE;
/** One key-service per VERIFY_THREAD_PRIORITY, measured in turn (the same bench process). */
const PRIORITIES = (process.env.PRIORITIES ?? 'normal,realtime').split(',');
/** This bench's own priority: `realtime` where allowed (loadGeneratorInRealTime), or `normal`. */
const LOAD_PRIORITY = process.env.LOAD_PRIORITY ?? 'realtime';
const SERVICE_TOKEN = 'bench-mixed-service-token-0123456789abcdef';
const KEYS_PER_ACCOUNT = Math.ceil(KEYS / ACCOUNTS);

/** One keep-alive connection pool for all requests: a caller reuses its connections as a service would. */
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY + VERIFIERS + 4 });

function post(
  url: string,
  headers: Record<string, string>,
  body: object,
): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, ms: performance.now() - started }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] : NaN;
};
const ms = (n: number) => (n >= 10 ? n.toFixed(0) : n.toFixed(1));

interface Verifier {
  latencies: number[];
  failures: number;
}

/** VERIFIERS callers verifying keys from `pool` at RATE in all, until `until` resolves. */
async function verifyAtRate(verifyUrl: string, pool: string[], until: Promise<unknown>): Promise<Verifier> {
  const result: Verifier = { latencies: [], failures: 0 };
  let done = false;
  const stop = () => (done = true);
  // Stops on failure too: the caller awaits `until` itself and reports why it failed.
  void until.then(stop, stop);
  const intervalMs = (1000 * VERIFIERS) / RATE;
  await Promise.all(
    Array.from({ length: VERIFIERS }, async (_, caller) => {
      // Callers start spread over one interval, then each keeps its own schedule (not "after the answer").
      let next = performance.now() + (intervalMs * caller) / VERIFIERS;
      while (!done) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        next += intervalMs;
        const key = pool[Math.floor(Math.random() * pool.length)];
        const answer = await post(verifyUrl, { 'x-service-token': SERVICE_TOKEN }, { key });
        if (answer.status === 200 && (JSON.parse(answer.body) as { valid: boolean }).valid)
          result.latencies.push(answer.ms);
        else result.failures++;
      }
    }),
  );
  return result;
}

/** What one run measured, for one VERIFY_THREAD_PRIORITY. */
interface Run {
  priority: string;
  keysPerSecond: number;
  seconds: number;
  createMs: number[];
  cpuPerKey: number;
  idle: Verifier;
  underLoad: number[];
  firstVerifyMs: number[];
  failuresUnderLoad: number;
  firstVerifyFailures: number;
}

/** Starts key-service with the internal listener at `priority`, measures it idle and while keys are created. */
async function measure(priority: string, cores: ReturnType<typeof benchCores>): Promise<Run> {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const internalPort = await freePort();
  const inspectPort = PROFILE ? await freePort() : undefined;
  const keyService = await ServiceProcess.start(
    'key-service',
    {
      ...env,
      ...keyServiceProductionSecrets(SERVICE_TOKEN),
      MONGO_URI: mongoUri('keys'),
      LOG_LEVEL: 'info',
      VERIFY_HTTP_PORT: String(internalPort),
      VERIFY_THREAD_PRIORITY: priority,
      KEY_CHANGES_PER_HOUR: String(KEYS_PER_ACCOUNT + 1),
      KEY_MAX_ACTIVE_PER_OWNER: String(Math.max(20, KEYS_PER_ACCOUNT + 1)),
      NODE_OPTIONS: SERVICE_NODE_OPTIONS + (inspectPort ? ` --inspect=127.0.0.1:${inspectPort}` : ''),
    },
    { timeoutMs: 120_000 },
  );
  if (cores) pinToCore(keyService.pid, cores.server);
  const verifyUrl = `http://127.0.0.1:${internalPort}/v1/keys/verify`;
  try {
    const tokens = await Promise.all(
      Array.from({ length: ACCOUNTS }, (_, i) => loggedInUser(mongoUri('keys'), `bench${i}@${emailDomain}`)),
    );
    const create = async (account: number, label: string) => {
      const answer = await post(
        `${keyService.url}/v1/keys`,
        { authorization: `Bearer ${tokens[account]}` },
        { label, contacts: [`ops${account}@${emailDomain}`] },
      );
      if (answer.status !== 201) throw new Error(`create answered ${answer.status}: ${answer.body}`);
      return { key: (JSON.parse(answer.body) as { key: string }).key, ms: answer.ms };
    };
    // One working key per account, verified (so cached) before anything is measured.
    const pool = await Promise.all(tokens.map(async (_, account) => (await create(account, 'warm')).key));
    for (const key of pool) await post(verifyUrl, { 'x-service-token': SERVICE_TOKEN }, { key });

    const idle = await verifyAtRate(verifyUrl, pool, sleep(IDLE_SECONDS * 1000));

    // Creation: CONCURRENCY workers take the next key to create, accounts in turn.
    const createMs: number[] = [];
    const firstVerifyMs: number[] = [];
    let firstVerifyFailures = 0;
    let nextKey = 0;
    const cpuBefore = cpuMs(keyService.pid);
    const started = performance.now();
    let createdAt = 0;
    const creating = Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = nextKey++; i < KEYS; i = nextKey++) {
          const { key, ms: took } = await create(i % ACCOUNTS, `k${i}`);
          createMs.push(took);
          createdAt = performance.now();
          const first = await post(verifyUrl, { 'x-service-token': SERVICE_TOKEN }, { key });
          if (first.status === 200 && (JSON.parse(first.body) as { valid: boolean }).valid)
            firstVerifyMs.push(first.ms);
          else firstVerifyFailures++;
          pool.push(key);
        }
      }),
    );
    const whileCreating = () => verifyAtRate(verifyUrl, pool, creating);
    const profiled = inspectPort ? await profileWhile(inspectPort, whileCreating) : undefined;
    const loaded = profiled?.result ?? (await whileCreating());
    await creating;
    const seconds = (createdAt - started) / 1000;
    if (PROFILE && profiled) writeProfile(priority, profiled.profile);
    return {
      priority,
      keysPerSecond: KEYS / seconds,
      seconds,
      createMs,
      cpuPerKey: (cpuMs(keyService.pid) - cpuBefore) / KEYS,
      idle,
      underLoad: [...loaded.latencies, ...firstVerifyMs],
      firstVerifyMs,
      failuresUnderLoad: loaded.failures + firstVerifyFailures,
      firstVerifyFailures,
    };
  } finally {
    await keyService.stop();
  }
}

function writeProfile(priority: string, profile: Parameters<typeof flameGraphSvg>[0]): void {
  mkdirSync(PROFILE!, { recursive: true });
  const file = join(PROFILE!, `mixed-creation-${priority}`);
  writeFileSync(`${file}.cpuprofile`, JSON.stringify(profile));
  const title = `key-service CPU while ${CONCURRENCY} requests at once create ${KEYS} keys and ${VERIFIERS} callers verify, ${new Date().toISOString().slice(0, 10)}`;
  writeFileSync(`${file}.svg`, flameGraphSvg(profile, title));
  const spots = hotSpots(profile);
  console.log(
    `\n### where key-service's CPU goes while it creates, VERIFY_THREAD_PRIORITY=${priority} (${file}.svg)\n`,
  );
  console.log('self time by origin: ' + spots.origins.map(([o, p]) => `${o} ${p.toFixed(1)}%`).join(', '));
  console.log('self time by function:');
  for (const [name, p] of spots.functions) console.log(`  ${p.toFixed(1)}%  ${name}`);
}

/**
 * The load generator at real-time priority when the machine allows it: it stands in for callers on
 * other machines, so its requests and their answers must not wait for a core behind the local stack
 * and key creation, or the figures are of this process's queueing, not of key-service.
 */
async function loadGeneratorInRealTime(): Promise<boolean> {
  const thread = linuxThreadId();
  return (
    thread !== undefined &&
    (await runInRealTime(thread).then(
      () => true,
      () => false,
    ))
  );
}

async function main(): Promise<void> {
  const cores = benchCores();
  if (cores) pinToCore(process.pid, cores.load);
  const realTime = LOAD_PRIORITY === 'realtime' && (await loadGeneratorInRealTime());
  const runs: Run[] = [];
  for (const priority of PRIORITIES) runs.push(await measure(priority, cores));
  agent.destroy();

  const cpu = cpus();
  const row = (measure: string, value: (run: Run) => string, target = '') =>
    console.log(`| ${measure} | ${runs.map(value).join(' | ')} | ${target} |`);
  const ratio = (run: Run) => percentile(run.underLoad, 99) / percentile(run.idle.latencies, 99);
  console.log(`\n## mixed\n`);
  console.log(
    `${new Date().toISOString()} · ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'} · Node ${process.version} · ` +
      `load average ${loadavg()
        .map((n) => n.toFixed(1))
        .join(' / ')} at the end · ` +
      (cores
        ? `key-service pinned to core ${cores.server}, this bench to core ${cores.load} (the stack unpinned)`
        : 'nothing pinned') +
      ` · this bench ${realTime ? 'at real-time priority' : `at normal priority${LOAD_PRIORITY === 'realtime' ? ' (real-time refused)' : ''}`}` +
      ` · ${ACCOUNTS} accounts create ${KEYS} keys (${KEYS_PER_ACCOUNT} each), ${CONCURRENCY} requests at once, ` +
      `while ${VERIFIERS} callers verify at ${RATE}/s on the internal listener; every new key verified once ` +
      `as soon as it is created; one key-service per VERIFY_THREAD_PRIORITY, in turn. ` +
      `Reproduce: \`npm run bench:mixed\` (stack running).\n`,
  );
  console.log(`| measure | ${runs.map((run) => `VERIFY_THREAD_PRIORITY=${run.priority}`).join(' | ')} | target |`);
  console.log(`| --- | ${runs.map(() => '---').join(' | ')} | --- |`);
  row(
    'keys created per second',
    (run) => `${run.keysPerSecond.toFixed(1)} (${KEYS} in ${run.seconds.toFixed(1)} s)`,
    '≥ 50',
  );
  row(
    'create latency p50 / p99 ms',
    (run) => `${ms(percentile(run.createMs, 50))} / ${ms(percentile(run.createMs, 99))}`,
  );
  row('key-service CPU per key created (ms, verifications included)', (run) => run.cpuPerKey.toFixed(1));
  row(
    'verification alone: p50 / p99 ms',
    (run) =>
      `${ms(percentile(run.idle.latencies, 50))} / ${ms(percentile(run.idle.latencies, 99))} (${run.idle.latencies.length})`,
  );
  row(
    'verification during creation, first verifications included: p50 / p99 ms',
    (run) => `${ms(percentile(run.underLoad, 50))} / ${ms(percentile(run.underLoad, 99))} (${run.underLoad.length})`,
  );
  row('p99 during creation ÷ idle p99', (run) => `${ratio(run).toFixed(2)}×`, '≤ 2×');
  row(
    'of which first verifications of new keys: p50 / p99 ms',
    (run) =>
      `${ms(percentile(run.firstVerifyMs, 50))} / ${ms(percentile(run.firstVerifyMs, 99))} (${run.firstVerifyMs.length})`,
  );
  row(
    'failed or invalid verifications: alone / during creation (first ones)',
    (run) => `${run.idle.failures} / ${run.failuresUnderLoad} (${run.firstVerifyFailures})`,
    '0',
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
