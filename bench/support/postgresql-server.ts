import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, createWriteStream, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, onTestProcessEnd, sleep, TEST_LOG_DIR } from '@keyward/testing';

/** Debian's `postgresql` package puts the server here; PG_BIN for elsewhere. */
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL server of the bench's own, on a free port with a fresh cluster under test-results/,
 * with the server's default settings. PostgreSQL refuses to run as root: as root it runs as the
 * `postgres` user the Debian package creates.
 */
export class PostgresqlServer {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  /** The URL of its `postgres` database, where FerretDB keeps each MongoDB database as a schema. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async start(): Promise<PostgresqlServer> {
    const port = await freePort();
    const dir = join(TEST_LOG_DIR, `postgresql-${port}`);
    mkdirSync(dir, { recursive: true });
    const user = process.getuid?.() === 0 ? postgresUser() : {};
    if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
    execFileSync(join(PG_BIN, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8'], {
      ...user,
      stdio: 'ignore',
    });
    const log = createWriteStream(join(dir, 'postgresql.log'));
    const child = spawn(
      join(PG_BIN, 'postgres'),
      ['-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'],
      { ...user, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.once(
      'exit',
      onTestProcessEnd(() => child.kill('SIGKILL')),
    );
    const deadline = Date.now() + 30_000;
    while (!(await accepts(port))) {
      if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}; see ${dir}`);
      if (Date.now() > deadline) throw new Error('postgres not answering within 30 s');
      await sleep(100);
    }
    return new PostgresqlServer(port, child);
  }

  /** Fast shutdown: open sessions are ended, the cluster stays consistent. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGINT');
    await exited;
  }
}

function postgresUser(): { uid?: number; gid?: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}
