/**
 * Key verification over HTTP against a bare Fastify route returning a constant, side by side in
 * one run on this machine. Targets (issue 14): the internal listener at least 0.8 and the public
 * port at least 0.5 of the baseline's throughput, and verify's p99 at half load at most 1.5 times
 * the baseline's own p99 in the same run, with a real key and a warm cache. The servers run on
 * one core and the load generator (this process) on another (`taskset`; PIN=0 turns it off).
 * ROUNDS rounds of every measure, reported as median (min–max). Also samples key-service's
 * resident memory under the load.
 *
 *   npm run bench:verify               (the stack must be running: npm run stack:start)
 *   DURATION=20 CONNECTIONS=50 ROUNDS=5 npm run bench:verify
 *   PROFILE=bench/verify/profiles npm run bench:verify
 *       also records key-service's CPU profile under full load on each listener, and writes it
 *       with its flame graph (SVG) into that folder
 */
import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, isolatedEnv, SERVICE_NODE_OPTIONS, ServiceProcess } from '@keyward/testing';
import { createBenchKey } from '../support/bench-key';
import { benchCores, pinToCore } from '../support/cores';
import { profileWhile } from '../support/cpu-profile';
import { flameGraphSvg, hotSpots } from '../support/flame-graph';
import { keyServiceProductionSecrets } from '../support/production-secrets';
import { cpuMs, rssMb } from '../support/process-usage';
import { medianOf } from '../support/stats';

const DURATION = Number(process.env.DURATION ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const PROFILE = process.env.PROFILE;
const SERVICE_TOKEN = 'bench-verify-service-token-0123456789abcdef';

interface Target {
  name: string;
  slug: string;
  pid: number | undefined;
  url: string;
  headers: Record<string, string>;
  body: string;
}

interface Run {
  rps: number;
  /**
   * Server CPU time (user + system) per request, in µs, less what the process spends when no
   * request comes (key-service's Kafka consumers, relay polls and timers): less sensitive to a busy
   * machine than req/s.
   */
  cpuUs: number;
  /** From each answer's own response time (autocannon's summary rounds to whole milliseconds). */
  p50: number;
  p99: number;
  errors: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] : NaN;
}

/** CPU ms per second each server process spends with no request coming, measured before any load. */
const idleCpuMsPerSecond = new Map<number | undefined, number>();

async function measureIdleCpu(pid: number | undefined, seconds = 5): Promise<void> {
  const before = cpuMs(pid);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  idleCpuMsPerSecond.set(pid, (cpuMs(pid) - before) / seconds);
}

async function load(target: Target, options: { duration: number; overallRate?: number }): Promise<Run> {
  const cpuBefore = cpuMs(target.pid);
  const started = performance.now();
  const times: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${target.url}/v1/keys/verify`,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...target.headers },
        body: target.body,
        connections: options.overallRate ? Math.min(CONNECTIONS, 8) : CONNECTIONS,
        duration: options.duration,
        overallRate: options.overallRate,
      },
      (error: unknown, done) => (error ? reject(error as Error) : resolve(done)),
    );
    instance.on('response', (_client, _status, _bytes, ms) => times.push(ms));
  });
  times.sort((a, b) => a - b);
  return {
    rps: result.requests.average,
    cpuUs:
      ((cpuMs(target.pid) -
        cpuBefore -
        ((idleCpuMsPerSecond.get(target.pid) ?? 0) * (performance.now() - started)) / 1000) *
        1000) /
      result.requests.total,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
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
  const cores = benchCores();
  if (cores) pinToCore(process.pid, cores.load);
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const internalPort = await freePort();
  const inspectPort = PROFILE ? await freePort() : undefined;
  const keyService = await ServiceProcess.start('key-service', {
    ...env,
    MONGO_URI: mongoUri('keys'),
    ...keyServiceProductionSecrets(SERVICE_TOKEN),
    LOG_LEVEL: 'info',
    VERIFY_HTTP_PORT: String(internalPort),
    // An inspector nobody attaches to costs nothing; the profile is taken after the measured rounds.
    NODE_OPTIONS: SERVICE_NODE_OPTIONS + (inspectPort ? ` --inspect=127.0.0.1:${inspectPort}` : ''),
  });
  const baseline = await startBaseline();
  if (cores) for (const pid of [keyService.pid, baseline.child.pid]) pinToCore(pid, cores.server);
  // Peak resident memory of key-service while each target is under load.
  const peakRss = new Map<string, number>();
  let phase = 'start-up';
  const sampler = setInterval(() => peakRss.set(phase, Math.max(peakRss.get(phase) ?? 0, rssMb(keyService.pid))), 200);
  try {
    const { key } = await createBenchKey(keyService.url, mongoUri('keys'), emailDomain);
    const body = JSON.stringify({ key });
    const auth = { 'x-service-token': SERVICE_TOKEN };
    const bare: Target = {
      name: 'bare Fastify',
      slug: 'bare',
      pid: baseline.child.pid,
      url: baseline.url,
      headers: {},
      body,
    };
    const internal: Target = {
      name: 'verify, internal listener',
      slug: 'internal-listener',
      pid: keyService.pid,
      url: `http://127.0.0.1:${internalPort}`,
      headers: auth,
      body,
    };
    const publicPort: Target = {
      name: 'verify, public port',
      slug: 'public-port',
      pid: keyService.pid,
      url: keyService.url,
      headers: auth,
      body,
    };
    const targets = [bare, internal, publicPort];
    for (const target of [internal, publicPort]) {
      const answer = await fetch(`${target.url}/v1/keys/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...target.headers },
        body,
      });
      if (!((await answer.json()) as { valid: boolean }).valid)
        throw new Error(`the bench key does not verify on ${target.name}`);
    }

    await Promise.all([measureIdleCpu(keyService.pid), measureIdleCpu(baseline.child.pid)]);
    // Warm up (JIT, connections, the cache); then rounds of each at full speed, then each at half
    // of a verify rate measured in the same round: bare and internal at half the internal
    // listener's, the public port at half its own.
    for (const target of targets) await load(target, { duration: 3 });
    const full = new Map<Target, Run[]>(targets.map((t) => [t, []]));
    const half = new Map<Target, Run[]>(targets.map((t) => [t, []]));
    const halfRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const fullRun = new Map<Target, Run>();
      for (const target of targets) {
        phase = target.name;
        fullRun.set(target, await load(target, { duration: DURATION }));
        full.get(target)!.push(fullRun.get(target)!);
      }
      phase = 'half load';
      const halfRate = Math.round(fullRun.get(internal)!.rps / 2);
      halfRates.push(halfRate);
      for (const target of targets) {
        const rate = target === publicPort ? Math.round(fullRun.get(publicPort)!.rps / 2) : halfRate;
        half.get(target)!.push(await load(target, { duration: DURATION, overallRate: rate }));
      }
      console.error(`round ${round + 1}/${ROUNDS} done`);
    }

    const cpu = cpus();
    console.log(`\n## verify\n`);
    console.log(
      `${new Date().toISOString()} · ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'} · ` +
        `${Math.round(totalmem() / 2 ** 30)} GiB · Node ${process.version} · load average ${loadavg()
          .map((n) => n.toFixed(1))
          .join(' / ')} at the end · ` +
        (cores
          ? `servers pinned to core ${cores.server}, autocannon to core ${cores.load}`
          : 'not pinned: servers and autocannon share the cores') +
        ` · ${ROUNDS} rounds of ${DURATION} s per measure, ${CONNECTIONS} connections at full speed · ` +
        `key-service with NODE_ENV=production, LOG_LEVEL=info, a warm cache and one real key; its CPU with no ` +
        `request coming, ${(idleCpuMsPerSecond.get(keyService.pid) ?? 0).toFixed(0)} ms/s, is left out of its CPU per request. ` +
        `Figures: median (min–max) over the rounds; ratios are taken within each round. ` +
        `Reproduce: \`npm run bench:verify\` (stack running).\n`,
    );
    console.log(
      '| target | full speed req/s | ÷ bare req/s | server CPU µs/req | half load req/s | half load p50 ms | half load p99 ms | p99 ÷ bare p99 |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    const ratios = (of: Target, pick: (r: Run) => number, by: Map<Target, Run[]>) =>
      by.get(of)!.map((run, i) => pick(run) / pick(by.get(bare)![i]));
    for (const target of targets) {
      const f = full.get(target)!;
      const h = half.get(target)!;
      console.log(
        `| ${target.name} | ${medianOf(f.map((r) => r.rps)).text} | ${
          medianOf(
            ratios(target, (r) => r.rps, full),
            2,
          ).text
        } | ` +
          `${medianOf(f.map((r) => r.cpuUs)).text} | ${medianOf(h.map((r) => r.rps)).text} | ` +
          `${
            medianOf(
              h.map((r) => r.p50),
              2,
            ).text
          } | ${
            medianOf(
              h.map((r) => r.p99),
              2,
            ).text
          } | ` +
          `${
            medianOf(
              ratios(target, (r) => r.p99, half),
              2,
            ).text
          } |`,
      );
    }
    const errors = [...full.values(), ...half.values()].flat().reduce((n, r) => n + r.errors, 0);
    console.log(
      `\nTargets: req/s ≥ 0.8 of the baseline's on the internal listener, ≥ 0.5 on the public port; ` +
        `p99 at half load ≤ 1.5 times the baseline's (half load: ${medianOf(halfRates).text} req/s for bare and ` +
        `the internal listener, the public port at half of its own). ` +
        `Errors or non-2xx answers in all runs: ${errors}. ` +
        `key-service peak RSS (target < 200 MB): ` +
        [...peakRss].map(([name, mb]) => `${name} ${mb} MB`).join(', ') +
        '.',
    );

    if (PROFILE && inspectPort) {
      mkdirSync(PROFILE, { recursive: true });
      for (const target of [internal, publicPort]) {
        // The internal listener answers on key-service's worker thread: that thread is profiled.
        const thread = target === internal ? 'worker' : 'main';
        const { result, profile } = await profileWhile(inspectPort, () => load(target, { duration: DURATION }), {
          thread,
        });
        const file = join(PROFILE, `verify-${target.slug}`);
        writeFileSync(`${file}.cpuprofile`, JSON.stringify(profile));
        const title = `key-service CPU (${thread} thread), ${target.name} at full speed (${result.rps.toFixed(0)} req/s while profiled), ${new Date().toISOString().slice(0, 10)}`;
        writeFileSync(`${file}.svg`, flameGraphSvg(profile, title));
        const spots = hotSpots(profile);
        console.log(`\n### where key-service's CPU goes: ${target.name} (${file}.svg)\n`);
        console.log('self time by origin: ' + spots.origins.map(([o, p]) => `${o} ${p.toFixed(1)}%`).join(', '));
        console.log('self time by function:');
        for (const [name, p] of spots.functions) console.log(`  ${p.toFixed(1)}%  ${name}`);
      }
    }
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
