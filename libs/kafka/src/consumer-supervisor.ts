import { Injectable, Logger } from '@nestjs/common';
import { Consumer, ConsumerCrashEvent } from 'kafkajs';
import { backoff } from './backoff';
import { KafkaMetrics } from './kafka.metrics';

/** A kafkajs consumer the supervisor watches, however it was made (ManagedConsumer, Nest's Kafka server or client). */
export interface SupervisedConsumer {
  /**
   * Its consumer group without the topic namespace, nor a per-process suffix (groupOfThisProcess):
   * names it in logs, metrics and /health, so their values stay bounded.
   */
  group: string;
  /** Runs it again once reconnected, as it was first run (subscribe if need be, then `consumer.run`). */
  run(): Promise<void>;
}

/** Restarts wait 1 s, doubling up to 10 s: no longer than that once the brokers are back. */
const RESTART_BASE_MS = 1_000;
const RESTART_MAX_MS = 10_000;

/**
 * kafkajs restarts a crashed consumer only after an error it deems retriable; after any other
 * (`Failed to find group coordinator` when the brokers go away while the consumer joins its group,
 * say) it emits CRASH with `restart: false` and the consumer stays stopped for good while the
 * process carries on. The supervisor starts such a consumer again, with capped exponential backoff,
 * until it joins its group, and knows which consumers are not consuming, so /health can say so.
 */
@Injectable()
export class ConsumerSupervisor {
  private readonly supervisions = new Set<Supervision>();

  constructor(private readonly metrics: KafkaMetrics) {}

  /**
   * Watches `consumer` from before its first run until the returned supervision is stopped, which
   * its owner does before disconnecting it on purpose.
   */
  supervise(consumer: Consumer, target: SupervisedConsumer): Supervision {
    const supervision = new Supervision(consumer, target, this.metrics, () => this.supervisions.delete(supervision));
    this.supervisions.add(supervision);
    return supervision;
  }

  /** Groups of the consumers started but not consuming: not joined yet, or crashed and not joined since. */
  notConsuming(): string[] {
    return [...this.supervisions].filter((s) => !s.consuming).map((s) => s.group);
  }
}

/** One consumer's watch: whether it consumes, and its restarts after a crash kafkajs leaves to us. */
export class Supervision {
  private readonly logger: Logger;
  /** From its group join until it crashes. */
  private inGroup = false;
  /** Restarts since it last joined its group. */
  private restarts = 0;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  /** A restart's run under way (joining the group). */
  private running?: Promise<void>;

  constructor(
    private readonly consumer: Consumer,
    private readonly target: SupervisedConsumer,
    private readonly metrics: KafkaMetrics,
    private readonly forget: () => void,
  ) {
    this.logger = new Logger(`Consumer:${target.group}`);
    consumer.on(consumer.events.GROUP_JOIN, () => this.joined());
    consumer.on(consumer.events.CRASH, (event) => this.crashed(event.payload));
  }

  get group(): string {
    return this.target.group;
  }

  get consuming(): boolean {
    return this.inGroup;
  }

  /**
   * Stops restarting it. Waits for a restart's run under way, so the owner's disconnect comes after
   * it; not for a restart still connecting, which may take the client's retries through an outage
   * (it disconnects itself once connected).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    this.forget();
  }

  private joined(): void {
    this.inGroup = true;
    if (this.restarts > 0) this.logger.log(`joined its group again after ${this.restarts} restart(s); consuming`);
    this.restarts = 0;
  }

  private crashed({ error, restart }: ConsumerCrashEvent['payload']): void {
    this.inGroup = false;
    // kafkajs starts it again itself after a retriable error; its crash then is the next event.
    if (restart || this.stopped) return;
    this.scheduleRestart(`crashed (${error.message}), which kafkajs does not restart from`);
  }

  private scheduleRestart(why: string): void {
    this.restarts++;
    const delay = backoff(this.restarts, RESTART_BASE_MS, RESTART_MAX_MS);
    this.logger.error(`${why}: restart ${this.restarts} in ${delay} ms`);
    this.metrics.consumerRestarts.inc({ group: this.target.group });
    this.timer = setTimeout(() => void this.restart(), delay);
  }

  /** Connects and runs it again; a failure to run schedules the next restart, a failure to join crashes it again. */
  private async restart(): Promise<void> {
    try {
      await this.consumer.connect();
      if (this.stopped) return await this.consumer.disconnect();
      this.running = this.target.run();
      await this.running;
    } catch (error) {
      if (!this.stopped) this.scheduleRestart(`could not start (${(error as Error).message})`);
    }
  }
}
