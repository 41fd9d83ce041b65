/**
 * FerretDB's two backends in one run: a fresh FerretDB on SQLite (the local stack's) and a fresh
 * FerretDB on PostgreSQL (Debian's `postgresql` package), both private and behind the same
 * one-command-at-a-time proxy, each given in turn to bench:scheduler, bench:notify and
 * bench:verify-miss (as MONGO_PORT; Kafka and Mailpit are the stack's). Prints each bench's own
 * report under its backend. Other settings of those benches (SIZES, REPEAT, KEYS, FILL, MISSES) pass through.
 *
 *   npm run bench:backends              (the stack must be running; PG_BIN if not Debian's PostgreSQL 15)
 *   BENCHES=verify-miss npm run bench:backends
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { FerretDbServer } from '../../test/support/ferretdb-server';
import { PostgresqlServer } from '../support/postgresql-server';

const run = promisify(execFile);
const BENCHES = (process.env.BENCHES ?? 'scheduler,notify,verify-miss').split(',');
/** The build this runs from: the benches run from the same one. */
const DIST = resolve(__dirname, '../..');

async function main(): Promise<void> {
  const postgresql = await PostgresqlServer.start();
  const [sqlite, onPostgresql] = await Promise.all([
    FerretDbServer.start(),
    FerretDbServer.start({ postgresqlUrl: postgresql.url }),
  ]);
  const backends = [
    { name: 'SQLite', port: sqlite.port },
    { name: 'PostgreSQL 15', port: onPostgresql.port },
  ];
  try {
    for (const bench of BENCHES)
      for (const backend of backends) {
        console.error(`bench:${bench} on ${backend.name} (FerretDB on 127.0.0.1:${backend.port})`);
        const started = Date.now();
        // A bench that fails on one backend (say, a query past the driver's timeouts) is a result too.
        const report = await run(process.execPath, [join(DIST, 'bench', bench, `${bench}.js`)], {
          env: { ...process.env, MONGO_PORT: String(backend.port) },
          maxBuffer: 16 << 20,
        }).then(
          ({ stdout }) => stdout.trim(),
          (error: { stderr?: string; message: string }) =>
            `FAILED: ${(error.stderr ?? error.message).split('\n').find((line) => /error/i.test(line)) ?? error.message}`,
        );
        console.log(
          `\n# bench:${bench} on FerretDB + ${backend.name} (${Math.round((Date.now() - started) / 1000)} s)\n`,
        );
        console.log(report);
      }
  } finally {
    await Promise.all([sqlite.stop(), onPostgresql.stop()]);
    await postgresql.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
