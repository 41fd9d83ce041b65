/**
 * Key verification over HTTP against a bare Fastify route returning a constant, side by side in
 * one run on this machine. Target (DESIGN.md): at least half the baseline's throughput, and p99
 * under 2 ms at half of that (verify's own) throughput, with a real key and a warm cache.
 * Also samples key-service's resident memory under the load.
 *
 *   npm run bench:verify               (the stack must be running: npm run stack:start)
 *   DURATION=20 CONNECTIONS=50 npm run bench:verify
 */
import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, isolatedEnv, ServiceProcess } from '@keyward/testing';
import { createBenchKey } from '../support/bench-key';
import { cpuMs, rssMb } from '../support/process-usage';

const DURATION = Number(process.env.DURATION ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const SERVICE_TOKEN = 'bench-verify-service-token-0123456789abcdef';

interface Target {
  name: string;
  pid: number | undefined;
  url: string;
  headers: Record<string, string>;
  body: string;
}

interface Run {
  rps: number;
  /** Server CPU time (user + system) per request, in µs: less sensitive to a busy machine than req/s. */
  cpuUs: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(target: Target, options: { duration: number; overallRate?: number }): Promise<Run> {
  const cpuBefore = cpuMs(target.pid);
  const result = await autocannon({
    url: `${target.url}/v1/keys/verify`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: target.body,
    connections: options.overallRate ? Math.min(CONNECTIONS, 8) : CONNECTIONS,
    duration: options.duration,
    overallRate: options.overallRate,
  });
  return {
    rps: result.requests.average,
    cpuUs: ((cpuMs(target.pid) - cpuBefore) * 1000) / result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

async function startBaseline(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(__dirname, 'baseline-server.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`baseline server exited with ${code}`)));
  });
  return { url, child };
}

async function main(): Promise<void> {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const internalPort = await freePort();
  const keyService = await ServiceProcess.start('key-service', {
    ...env,
    MONGO_URI: mongoUri('keys'),
    LOG_LEVEL: 'info',
    NODE_ENV: 'production',
    KEY_HASH_SECRET: 'bench-verify-key-hash-secret-0123456789abcdef',
    LOGIN_CODE_SEALING_KEY: 'bench-verify-login-code-sealing-key-0123456789',
    VERIFY_SERVICE_TOKENS: SERVICE_TOKEN,
    VERIFY_HTTP_PORT: String(internalPort),
  });
  const baseline = await startBaseline();
  // Peak resident memory of key-service while each target is under load.
  const peakRss = new Map<string, number>();
  let phase = 'start-up';
  const sampler = setInterval(() => peakRss.set(phase, Math.max(peakRss.get(phase) ?? 0, rssMb(keyService.pid))), 200);
  try {
    const { key } = await createBenchKey(keyService.url, mongoUri('keys'), emailDomain);
    const body = JSON.stringify({ key });
    const auth = { 'x-service-token': SERVICE_TOKEN };
    const bare: Target = { name: 'bare Fastify', pid: baseline.child.pid, url: baseline.url, headers: {}, body };
    const internal: Target = {
      name: 'verify, internal listener',
      pid: keyService.pid,
      url: `http://127.0.0.1:${internalPort}`,
      headers: auth,
      body,
    };
    const publicPort: Target = {
      name: 'verify, public port',
      pid: keyService.pid,
      url: keyService.url,
      headers: auth,
      body,
    };
    for (const target of [internal, publicPort]) {
      const answer = await fetch(`${target.url}/v1/keys/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...target.headers },
        body,
      });
      if (!((await answer.json()) as { valid: boolean }).valid)
        throw new Error(`the bench key does not verify on ${target.name}`);
    }

    // Warm up (JIT, connections, the cache), then each at full speed, then each at half of its own verify rate.
    for (const target of [bare, internal, publicPort]) await load(target, { duration: 3 });
    const full = new Map<Target, Run>();
    for (const target of [bare, internal, publicPort]) {
      phase = target.name;
      full.set(target, await load(target, { duration: DURATION }));
    }
    phase = 'half load';
    const halfRate = Math.round(full.get(internal)!.rps / 2);
    const publicHalfRate = Math.round(full.get(publicPort)!.rps / 2);
    const half = new Map<Target, Run>([
      [bare, await load(bare, { duration: DURATION, overallRate: halfRate })],
      [internal, await load(internal, { duration: DURATION, overallRate: halfRate })],
      [publicPort, await load(publicPort, { duration: DURATION, overallRate: publicHalfRate })],
    ]);

    const base = full.get(bare)!;
    const cpu = cpus();
    console.log(`\n## verify\n`);
    console.log(
      `${new Date().toISOString()} · ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'} · ` +
        `${Math.round(totalmem() / 2 ** 30)} GiB · Node ${process.version} · load average ${loadavg()[0].toFixed(1)} ` +
        `at the end · ${DURATION} s per run, ${CONNECTIONS} connections at full speed, autocannon in the same ` +
        `machine · key-service with NODE_ENV=production, LOG_LEVEL=info, a warm cache and one real key. ` +
        `Reproduce: \`npm run bench:verify\` (stack running).\n`,
    );
    console.log(
      '| target | full speed req/s (ratio) | server CPU µs/req (ratio) | full speed p99 ms | half load: req/s, p50 / p99 ms |',
    );
    console.log('| --- | --- | --- | --- | --- |');
    for (const target of [bare, internal, publicPort]) {
      const f = full.get(target)!;
      const h = half.get(target)!;
      console.log(
        `| ${target.name} | ${f.rps.toFixed(0)} (${(f.rps / base.rps).toFixed(2)}) | ` +
          `${f.cpuUs.toFixed(0)} (${(base.cpuUs / f.cpuUs).toFixed(2)}) | ${f.p99} | ` +
          `${h.rps.toFixed(0)}, ${h.p50} / ${h.p99} |`,
      );
    }
    const errors = [...full.values(), ...half.values()].reduce((n, r) => n + r.errors, 0);
    console.log(
      `\nTargets: ratio ≥ 0.5 of the baseline's req/s; p99 < 2 ms at half load (${halfRate} req/s, half of the ` +
        `internal listener's full speed; the public port at half of its own, ${publicHalfRate} req/s). ` +
        `Errors or non-2xx answers in all runs: ${errors}. ` +
        `key-service peak RSS (target < 200 MB): ` +
        [...peakRss].map(([name, mb]) => `${name} ${mb} MB`).join(', ') +
        '.',
    );
  } finally {
    clearInterval(sampler);
    baseline.child.kill();
    await keyService.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
