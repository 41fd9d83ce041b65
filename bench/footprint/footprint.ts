/**
 * Memory footprint of the whole local system under load: resident memory of the three services
 * and the stack servers (Kafka, FerretDB, Mailpit) while keys are created through the API and
 * their emails flow. Targets (DESIGN.md): each service < 200 MB, everything together < 2 GiB.
 *
 *   npm run bench:footprint            (the stack must be running: npm run stack:start)
 *   KEYS=500 npm run bench:footprint
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isolatedEnv, Mailpit, ServiceProcess } from '@keyward/testing';
import { loggedInUser } from '../../test/support/accounts';

const KEYS = Number(process.env.KEYS ?? 300);
const STACK_DIR = process.env.KEYWARD_STACK_DIR ?? resolve(__dirname, '../../../.stack');

function rssMb(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : null;
  } catch {
    return null;
  }
}

function stackPid(name: string): number | undefined {
  try {
    return Number(readFileSync(join(STACK_DIR, 'run', `${name}.pid`), 'utf8').trim());
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const services = await Promise.all([
    ServiceProcess.start('key-service', {
      ...env,
      MONGO_URI: mongoUri('keys'),
      LOG_LEVEL: 'info',
      KEY_MAX_ACTIVE_PER_OWNER: String(KEYS),
      // One account creates every key of the bench.
      KEY_CHANGES_PER_HOUR: String(KEYS),
    }),
    ServiceProcess.start('notification-service', { ...env, MONGO_URI: mongoUri('notifications'), LOG_LEVEL: 'info' }),
    ServiceProcess.start('scheduler-service', { ...env, MONGO_URI: mongoUri('keys'), LOG_LEVEL: 'info' }),
  ]);
  const [keyService] = services;
  const peak = new Map<string, number>();
  const sample = () => {
    for (const s of services) peak.set(s.name, Math.max(peak.get(s.name) ?? 0, rssMb(s.pid) ?? 0));
    for (const name of ['kafka', 'ferretdb', 'mailpit']) {
      peak.set(name, Math.max(peak.get(name) ?? 0, rssMb(stackPid(name)) ?? 0));
    }
  };
  const sampler = setInterval(sample, 100);
  try {
    const token = await loggedInUser(mongoUri('keys'), `footprint@${emailDomain}`);
    const contact = `ops@${emailDomain}`;
    const started = Date.now();
    for (let i = 0; i < KEYS; i += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, KEYS - i) }, (_, j) =>
          fetch(`${keyService.url}/v1/keys`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ label: `bench-${i + j}`, contacts: [contact] }),
          }).then((r) => {
            if (r.status !== 201) throw new Error(`create answered ${r.status}`);
          }),
        ),
      );
    }
    await new Mailpit().waitFor(contact, KEYS, { timeoutMs: 120_000 });
    sample();
    const seconds = (Date.now() - started) / 1000;
    const total = [...peak.values()].reduce((a, b) => a + b, 0);
    console.log(`\n## footprint (${new Date().toISOString()})\n`);
    console.log(`${KEYS} keys created, all ${KEYS} emails delivered in ${seconds.toFixed(1)} s.\n`);
    console.log('| process | peak RSS (MB) | target |');
    console.log('| --- | --- | --- |');
    for (const [name, mb] of peak) {
      const target = name.endsWith('-service') ? '< 200' : '';
      console.log(`| ${name} | ${mb || 'n/a (not started by stack.sh)'} | ${target} |`);
    }
    console.log(`| **all** | **${total}** | < 2048 |`);
  } finally {
    clearInterval(sampler);
    await Promise.all(services.map((s) => s.stop()));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
