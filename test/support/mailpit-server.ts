import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, sleep, TEST_LOG_DIR } from '@keyward/testing';

const REPO = resolve(__dirname, '../../..');
const BINARY = join(process.env.KEYWARD_STACK_DIR ?? join(REPO, '.stack'), 'bin', 'mailpit');

/**
 * A Mailpit of a test's own, from the stack's binary on free ports, so the test can stop and
 * restart its SMTP server without touching the shared one. Extra flags (say, which recipients it
 * refuses) are passed through.
 */
export class MailpitServer {
  private child?: ChildProcess;

  private constructor(
    readonly smtpPort: number,
    readonly httpPort: number,
    private readonly dataDir: string,
    private readonly flags: string[],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  static async start(flags: string[] = []): Promise<MailpitServer> {
    const [smtpPort, httpPort] = [await freePort(), await freePort()];
    const dataDir = join(TEST_LOG_DIR, `mailpit-${smtpPort}`);
    const server = new MailpitServer(smtpPort, httpPort, dataDir, flags);
    await server.resume();
    return server;
  }

  /** Starts (again) on the same ports and database. */
  async resume(): Promise<void> {
    mkdirSync(this.dataDir, { recursive: true });
    const log = createWriteStream(join(this.dataDir, 'mailpit.log'), { flags: 'a' });
    this.child = spawn(
      BINARY,
      [
        '-s',
        `127.0.0.1:${this.smtpPort}`,
        '-l',
        `127.0.0.1:${this.httpPort}`,
        '--database',
        join(this.dataDir, 'mailpit.db'),
        '--smtp-auth-accept-any',
        '--smtp-auth-allow-insecure',
        ...this.flags,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout?.pipe(log);
    this.child.stderr?.pipe(log);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`mailpit exited with ${this.child.exitCode}`);
      if (
        await fetch(`${this.url}/readyz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return;
      await sleep(100);
    }
    throw new Error('mailpit not ready within 20 s');
  }

  /** Stops this Mailpit only: its SMTP port refuses connections until resume(). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}
