/**
 * What a hostile body costs key-service, against a plain 400 in the same run, and whether /health
 * and key verification keep answering while a flood of them runs. Target (issue 9): a refused
 * hostile request well under 20 ms of CPU; /health and verification keep answering in a flood.
 *
 *   npm run bench:hostile               (the stack must be running: npm run stack:start)
 *   REQUESTS=400 DURATION=20 npm run bench:hostile
 */
import autocannon from 'autocannon';
import { cpus, loadavg, totalmem } from 'node:os';
import { freePort, isolatedEnv, ServiceProcess } from '@keyward/testing';
import { createBenchKey } from '../support/bench-key';
import { cpuMs, rssMb } from '../support/process-usage';

const REQUESTS = Number(process.env.REQUESTS ?? 300);
const DURATION = Number(process.env.DURATION ?? 15);
const FLOOD_CONNECTIONS = Number(process.env.FLOOD_CONNECTIONS ?? 8);
const SERVICE_TOKEN = 'bench-hostile-service-token-0123456789abcdef';

interface Attack {
  name: string;
  path: string;
  contentType: string;
  body: string;
  /** The answer key-service must give; anything else fails the bench. */
  status: number;
  /** Sent with the session token (the key routes need one). */
  authenticated?: boolean;
  /** Sent with the service token (verification needs one). */
  serviceToken?: boolean;
}

/** One JSON object of about `bytes` characters, every property unknown to the route. */
function unknownProperties(bytes: number): string {
  const props: string[] = [];
  for (let size = 2, i = 0; size < bytes - 24; i++) {
    props.push(`"unknown${i}":"${'v'.repeat(12)}"`);
    size += props[props.length - 1].length + 1;
  }
  return `{${props.join(',')}}`;
}

const nested = (field: string, bytes: number) =>
  `{"${field}":${'['.repeat((bytes - 20) / 2)}${']'.repeat((bytes - 20) / 2)}}`;

const ATTACKS: Attack[] = [
  {
    // Not a sign-in route: those are rate limited before validation, so a repeated bad body there
    // is soon a 429, not a 400.
    name: 'plain 400 (baseline): `{"key":42}` to /v1/keys/verify',
    path: '/v1/keys/verify',
    contentType: 'application/json',
    body: '{"key":42}',
    status: 400,
    serviceToken: true,
  },
  {
    name: '200 KB JSON, ~9,000 unknown properties, to /v1/auth/otp',
    path: '/v1/auth/otp',
    contentType: 'application/json',
    body: unknownProperties(200 * 1024),
    status: 413,
  },
  {
    name: '200 KB JSON, ~9,000 unknown properties, to /v1/keys',
    path: '/v1/keys',
    contentType: 'application/json',
    body: unknownProperties(200 * 1024),
    status: 413,
    authenticated: true,
  },
  {
    name: '15 KB JSON, ~650 unknown properties (under the size limit), to /v1/keys',
    path: '/v1/keys',
    contentType: 'application/json',
    body: unknownProperties(15 * 1024),
    status: 400,
    authenticated: true,
  },
  {
    name: '1 MB form body to /v1/auth/login',
    path: '/v1/auth/login',
    contentType: 'application/x-www-form-urlencoded',
    body: `email=a%40example.com&otp=${'1'.repeat(1024 * 1024)}`,
    status: 415,
  },
  {
    name: 'JSON nested 2,000 deep (4 KB) to /v1/auth/otp',
    path: '/v1/auth/otp',
    contentType: 'application/json',
    body: nested('email', 4000),
    status: 400,
  },
  {
    name: 'JSON nested 8,000 deep (16 KB) to /v1/keys',
    path: '/v1/keys',
    contentType: 'application/json',
    body: nested('contacts', 16000),
    status: 400,
    authenticated: true,
  },
];

interface Cost {
  cpuUs: number;
  p50: number;
  p99: number;
  statuses: string;
  unexpected: number;
}

const statusesOf = (result: autocannon.Result) =>
  Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count ?? 0] as const);

function requestOptions(baseUrl: string, attack: Attack, token: string): autocannon.Options {
  return {
    url: `${baseUrl}${attack.path}`,
    method: 'POST',
    headers: {
      'content-type': attack.contentType,
      ...(attack.authenticated ? { authorization: `Bearer ${token}` } : {}),
      ...(attack.serviceToken ? { 'x-service-token': SERVICE_TOKEN } : {}),
    },
    body: attack.body,
  };
}

/** key-service's CPU per request of one kind, sent REQUESTS times over 4 connections. */
async function costOf(baseUrl: string, pid: number | undefined, attack: Attack, token: string): Promise<Cost> {
  const before = cpuMs(pid);
  const result = await autocannon({ ...requestOptions(baseUrl, attack, token), connections: 4, amount: REQUESTS });
  const statuses = statusesOf(result);
  const answered = statuses.reduce((n, [, count]) => n + count, 0);
  return {
    cpuUs: ((cpuMs(pid) - before) * 1000) / Math.max(answered, 1),
    p50: result.latency.p50,
    p99: result.latency.p99,
    statuses: statuses.map(([code, count]) => `${count}× ${code}`).join(', '),
    unexpected: statuses.filter(([code]) => Number(code) !== attack.status).reduce((n, [, c]) => n + c, 0),
  };
}

interface Probe {
  name: string;
  options: autocannon.Options;
}

async function probe(p: Probe, rate: number): Promise<{ p50: number; p99: number; ok: number; failed: number }> {
  const result = await autocannon({ ...p.options, connections: 4, duration: DURATION, overallRate: rate });
  const ok = result['2xx'];
  return { p50: result.latency.p50, p99: result.latency.p99, ok, failed: result.requests.total - ok + result.errors };
}

async function main(): Promise<void> {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const internalPort = await freePort();
  const keyService = await ServiceProcess.start('key-service', {
    ...env,
    MONGO_URI: mongoUri('keys'),
    LOG_LEVEL: 'info',
    VERIFY_SERVICE_TOKENS: SERVICE_TOKEN,
    VERIFY_HTTP_PORT: String(internalPort),
  });
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(keyService.pid))), 200);
  try {
    const { token, key } = await createBenchKey(keyService.url, mongoUri('keys'), emailDomain);
    const verifyAt = (baseUrl: string): autocannon.Options => ({
      url: `${baseUrl}/v1/keys/verify`,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-service-token': SERVICE_TOKEN },
      body: JSON.stringify({ key }),
    });
    const probes: Probe[] = [
      { name: 'GET /health', options: { url: `${keyService.url}/health` } },
      { name: 'verify, public port', options: verifyAt(keyService.url) },
      { name: 'verify, internal listener', options: verifyAt(`http://127.0.0.1:${internalPort}`) },
    ];
    const PROBE_RATE = { 'GET /health': 20, 'verify, public port': 100, 'verify, internal listener': 100 };

    // Warm up (JIT, connections), then the cost of each kind of request, one kind at a time.
    for (const attack of ATTACKS) await autocannon({ ...requestOptions(keyService.url, attack, token), amount: 50 });
    const costs = new Map<Attack, Cost>();
    for (const attack of ATTACKS) costs.set(attack, await costOf(keyService.url, keyService.pid, attack, token));

    // Probes alone, then the same probes while the hostile kinds flood the public port.
    const quiet = new Map<Probe, Awaited<ReturnType<typeof probe>>>();
    for (const p of probes) quiet.set(p, await probe(p, PROBE_RATE[p.name as keyof typeof PROBE_RATE]));
    const floodKinds = ATTACKS.slice(1);
    const cpuBefore = cpuMs(keyService.pid);
    const started = Date.now();
    const flooding = Promise.all(
      floodKinds.map((attack) =>
        autocannon({
          ...requestOptions(keyService.url, attack, token),
          connections: FLOOD_CONNECTIONS,
          duration: DURATION,
        }),
      ),
    );
    const underFlood = await Promise.all(
      probes.map(async (p) => [p, await probe(p, PROBE_RATE[p.name as keyof typeof PROBE_RATE])] as const),
    );
    const floodResults = await flooding;
    const floodSeconds = (Date.now() - started) / 1000;
    const floodRequests = floodResults.reduce((n, r) => n + statusesOf(r).reduce((m, [, c]) => m + c, 0), 0);
    const floodCpu = (cpuMs(keyService.pid) - cpuBefore) / 1000 / floodSeconds;

    const cpu = cpus();
    const baseline = costs.get(ATTACKS[0])!;
    console.log(`\n## hostile\n`);
    console.log(
      `${new Date().toISOString()} · ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'} · ` +
        `${Math.round(totalmem() / 2 ** 30)} GiB · Node ${process.version} · load average ${loadavg()[0].toFixed(1)} ` +
        `at the end · key-service with LOG_LEVEL=info (development secrets); autocannon in the same machine. ` +
        `Reproduce: \`npm run bench:hostile\` (stack running).\n`,
    );
    console.log(`Cost of one request, ${REQUESTS} of each kind over 4 connections:\n`);
    console.log('| request | answers | server CPU µs/req (÷ plain 400) | p50 / p99 ms |');
    console.log('| --- | --- | --- | --- |');
    for (const attack of ATTACKS) {
      const c = costs.get(attack)!;
      console.log(
        `| ${attack.name} | ${c.statuses} | ${c.cpuUs.toFixed(0)} (${(c.cpuUs / baseline.cpuUs).toFixed(1)}) | ` +
          `${c.p50} / ${c.p99} |`,
      );
    }
    console.log(
      `\nFlood: the ${floodKinds.length} hostile kinds above at once, ${FLOOD_CONNECTIONS} connections each at full ` +
        `speed for ${DURATION} s: ${Math.round(floodRequests / floodSeconds)} refused requests/s, key-service at ` +
        `${(floodCpu * 100).toFixed(0)}% of one core. Probes at a fixed rate, alone and during the flood:\n`,
    );
    console.log('| probe | rate/s | alone: p50 / p99 ms | during the flood: p50 / p99 ms | failed (alone, flood) |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const [p, flood] of underFlood) {
      const alone = quiet.get(p)!;
      console.log(
        `| ${p.name} | ${PROBE_RATE[p.name as keyof typeof PROBE_RATE]} | ${alone.p50} / ${alone.p99} | ` +
          `${flood.p50} / ${flood.p99} | ${alone.failed}, ${flood.failed} |`,
      );
    }
    const unexpected = [...costs.values()].reduce((n, c) => n + c.unexpected, 0);
    const worst = Math.max(...[...costs.values()].map((c) => c.cpuUs));
    console.log(
      `\nTarget: a refused hostile request well under 20 ms (20,000 µs) of CPU: worst ${worst.toFixed(0)} µs. ` +
        `Answers other than the expected refusal: ${unexpected}. key-service peak RSS ${peakRss} MB.`,
    );
    if (unexpected > 0) process.exitCode = 1;
  } finally {
    clearInterval(sampler);
    await keyService.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
