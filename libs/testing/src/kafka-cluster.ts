import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Admin, Kafka, logLevel } from 'kafkajs';
import { sleep } from './mailpit';
import { onTestProcessEnd } from './reaper';
import { freePort, TEST_LOG_DIR } from './service-process';

const REPO = resolve(__dirname, '../../../..');
const STACK_SCRIPT = join(REPO, 'tools/stack/stack.sh');
const run = promisify(execFile);

export interface PartitionState {
  partition: number;
  leader: number;
  isr: number[];
}

/**
 * A Kafka cluster of a test's own: three KRaft nodes (broker and controller each), or one, from the
 * stack's jars, on free ports, with their data under test-results/. Started and stopped by
 * tools/stack/stack.sh (KAFKA_NODES=3 or 1), as the shared stack is, so a test can stop or crash a
 * broker, or the whole of Kafka, without touching the shared one.
 */
export class KafkaCluster {
  private readonly kafka: Kafka;

  private constructor(
    /** Node i (1-based) listens on basePort + 2(i-1), its controller on the port after. */
    private readonly basePort: number,
    readonly nodes: number,
    private readonly stateDir: string,
    private readonly jvm: string,
  ) {
    this.kafka = new Kafka({ clientId: 'keyward-tests-cluster', brokers: this.brokerList, logLevel: logLevel.NOTHING });
  }

  /**
   * `jvm` goes to each node's java (stack.sh's KAFKA_HEAP): a bounded heap, and the quick JIT tier
   * and serial GC, which start and restart a node with less CPU on a shared machine.
   */
  static async start({
    nodes = 3,
    jvm = '-Xms128m -Xmx320m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC',
  } = {}): Promise<KafkaCluster> {
    const basePort = await freePortRun(nodes * 2);
    const cluster = new KafkaCluster(basePort, nodes, join(TEST_LOG_DIR, `kafka-cluster-${basePort}`), jvm);
    // Never outlive the test that started it, even when it ends before its cleanup.
    onTestProcessEnd(() => cluster.killAll());
    await cluster.script(['start', 'kafka']);
    return cluster;
  }

  private get brokerList(): string[] {
    return Array.from({ length: this.nodes }, (_, i) => `127.0.0.1:${this.basePort + 2 * i}`);
  }

  /** KAFKA_BROKERS for services and clients: every node. */
  get brokers(): string {
    return this.brokerList.join(',');
  }

  /** Brings back every stopped node and waits until each is ready. */
  async startStopped(): Promise<void> {
    await this.script(['start', 'kafka']);
  }

  /** Stops one node: gracefully (its leaderships move first), or by SIGKILL as a crash would. */
  async stopNode(node: number, { crash = false } = {}): Promise<void> {
    if (!crash) {
      await this.script(['stop', `kafka-${node}`]);
      return;
    }
    const pid = this.pid(node);
    if (pid === undefined) return;
    process.kill(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(20);
  }

  /** Stops every node. */
  async stop(): Promise<void> {
    await this.script(['stop', 'kafka']);
  }

  /** Leader and in-sync replicas of each partition of a topic, as the cluster reports them now. */
  async partitions(topic: string): Promise<PartitionState[]> {
    return this.withAdmin(async (admin) => {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      return topics[0].partitions
        .map((p) => ({ partition: p.partitionId, leader: p.leader, isr: [...p.isr].sort() }))
        .sort((a, b) => a.partition - b.partition);
    });
  }

  /** The node that leads most partitions of a topic. */
  async busiestLeader(topic: string): Promise<number> {
    const counts = new Map<number, number>();
    for (const { leader } of await this.partitions(topic)) counts.set(leader, (counts.get(leader) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
  }

  /** The node that is the active controller. */
  async controller(): Promise<number> {
    return this.withAdmin(async (admin) => (await admin.describeCluster()).controller as number);
  }

  async withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return await work(admin);
    } finally {
      await admin.disconnect();
    }
  }

  private pid(node: number): number | undefined {
    // stack.sh names a lone node `kafka`, the nodes of a cluster `kafka-1`…
    const file = join(this.stateDir, 'run', this.nodes === 1 ? 'kafka.pid' : `kafka-${node}.pid`);
    return existsSync(file) ? Number(readFileSync(file, 'utf8')) : undefined;
  }

  private killAll(): void {
    for (let node = 1; node <= this.nodes; node++) {
      const pid = this.pid(node);
      if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  }

  private async script(args: string[]): Promise<void> {
    await run('bash', [STACK_SCRIPT, ...args], {
      env: {
        ...process.env,
        KEYWARD_STACK_DIR: process.env.KEYWARD_STACK_DIR ?? join(REPO, '.stack'),
        KAFKA_STATE_DIR: this.stateDir,
        KAFKA_NODES: String(this.nodes),
        KAFKA_PORT: String(this.basePort),
        KAFKA_CONTROLLER_PORT: String(this.basePort + 1),
        KAFKA_HEAP: this.jvm,
      },
    }).catch((error: { stderr?: string; message: string }) => {
      throw new Error(`stack.sh ${args.join(' ')} failed: ${error.stderr ?? error.message}`);
    });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The first of `count` consecutive free ports. */
async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort();
    if (base + count > 65_535) continue;
    const free = await Promise.all(Array.from({ length: count - 1 }, (_, i) => portFree(base + 1 + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no run of ${count} free ports found`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}
