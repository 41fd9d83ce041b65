import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { sleep } from './mailpit';
import { onTestProcessEnd } from './reaper';

/** The build this code runs from (dist/ or $KEYWARD_DIST); services start from the same build. */
const DIST = resolve(__dirname, '../../..');
export const TEST_LOG_DIR = join(DIST, '..', 'test-results', 'logs');

/** The Node options the services run with everywhere (tools/run-system.sh, Dockerfile). */
export const SERVICE_NODE_OPTIONS =
  '--max-old-space-size=128 --max-semi-space-size=8 --disable-warning=TimeoutNegativeWarning';

export type ServiceName = 'key-service' | 'notification-service' | 'scheduler-service';

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** A service started from the build (dist/) as its own process, as it runs in production. */
export class ServiceProcess {
  private constructor(
    readonly name: ServiceName,
    readonly url: string,
    readonly logFile: string,
    private readonly child: ChildProcess,
  ) {}

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(
    name: ServiceName,
    env: Record<string, string>,
    { timeoutMs = 30_000 } = {},
  ): Promise<ServiceProcess> {
    const port = await freePort();
    mkdirSync(TEST_LOG_DIR, { recursive: true });
    const logFile = join(TEST_LOG_DIR, `${name}-${port}.log`);
    const log = createWriteStream(logFile);
    const child = spawn(process.execPath, [join(DIST, 'apps', name, 'src/main.js')], {
      env: {
        PATH: process.env.PATH,
        LOG_LEVEL: 'debug',
        // The public development defaults are refused in any other mode.
        NODE_ENV: 'test',
        NODE_OPTIONS: SERVICE_NODE_OPTIONS,
        ...env,
        HTTP_PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    // Never outlive the test or bench that started it, even when it fails before its cleanup
    // (say, another service of the same before() failed): the child does not hold the test
    // process open, and dies with it.
    const cancel = onTestProcessEnd(() => child.kill('SIGKILL'));
    child.once('exit', cancel);
    child.unref();
    for (const stream of [child.stdout, child.stderr]) (stream as unknown as Socket | null)?.unref();
    const service = new ServiceProcess(name, `http://127.0.0.1:${port}`, logFile, child);
    await service.waitHealthy(timeoutMs);
    return service;
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null)
        throw new Error(`${this.name} exited with ${this.child.exitCode}; see ${this.logFile}`);
      const ok = await fetch(`${this.url}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await sleep(100);
    }
    throw new Error(`${this.name} not healthy within ${timeoutMs} ms; see ${this.logFile}`);
  }

  /** Graceful stop (SIGTERM), as a deploy would. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** Abrupt death (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    // Held open again while we wait for the exit (start() let go of it).
    this.child.ref();
    this.child.kill(signal);
    await exited;
  }
}
