import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { freePort, onTestProcessEnd, sleep, TEST_LOG_DIR } from '@keyward/testing';

const REPO = resolve(__dirname, '../../..');
const BINARY = join(process.env.KEYWARD_STACK_DIR ?? join(REPO, '.stack'), 'bin', 'ferretdb');

/**
 * A FerretDB of a test's own, from the stack's binary on a free port, so a test can take the
 * database away from a service without touching the shared one. Its data survive stop() and resume().
 * On SQLite by default; given a PostgreSQL URL, on that database instead.
 */
export class FerretDbServer {
  private child?: ChildProcess;

  private constructor(
    readonly port: number,
    private readonly dataDir: string,
    private readonly postgresqlUrl?: string,
  ) {}

  /** The MongoDB URI of a database on this server. */
  uri(database: string): string {
    return `mongodb://127.0.0.1:${this.port}/${database}`;
  }

  static async start({ postgresqlUrl }: { postgresqlUrl?: string } = {}): Promise<FerretDbServer> {
    const port = await freePort();
    const server = new FerretDbServer(port, join(TEST_LOG_DIR, `ferretdb-${port}`), postgresqlUrl);
    await server.resume();
    return server;
  }

  /** Starts (again) on the same port and data. */
  async resume(): Promise<void> {
    mkdirSync(join(this.dataDir, 'data'), { recursive: true });
    const log = createWriteStream(join(this.dataDir, 'ferretdb.log'), { flags: 'a' });
    this.child = spawn(
      BINARY,
      [
        this.postgresqlUrl
          ? `-postgresql-url=${this.postgresqlUrl}`
          : `-sqlite-url=file:${join(this.dataDir, 'data')}/`,
        `-listen-addr=127.0.0.1:${this.port}`,
        `-backend-socket=${join(this.dataDir, 'backend.sock')}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout?.pipe(log);
    this.child.stderr?.pipe(log);
    // Never outlive the test, also when the runner stops it for taking too long (SIGTERM).
    const child = this.child;
    child.once(
      'exit',
      onTestProcessEnd(() => child.kill('SIGKILL')),
    );
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`ferretdb exited with ${this.child.exitCode}`);
      if (await accepts(this.port)) return;
      await sleep(100);
    }
    throw new Error('ferretdb not answering within 20 s');
  }

  /** Stops this server only: connections to its port are refused until resume(). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** Freezes the server (SIGSTOP): connections stay open and every command hangs, as in a stall. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }
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
