import { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

/** How often a sweeper passes, and whether it also passes as the process starts. */
export interface SweepSchedule {
  everyMs: number;
  atStart: boolean;
}

/**
 * Deletes what is past its time, on a timer, in every instance (keyward uses no TTL indexes: see
 * libs/mongo), so each pass must be safe to run twice at once. A failed pass is logged and left to
 * the next one. A sweeper keeps only its pass and its schedule.
 */
export abstract class Sweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  protected readonly logger = new Logger(this.constructor.name);
  private timer?: NodeJS.Timeout;

  protected constructor(private readonly schedule: SweepSchedule) {}

  /** One pass over what is due; throws when it could not finish. */
  protected abstract pass(): Promise<void>;

  onApplicationBootstrap(): void {
    if (this.schedule.atStart) void this.sweep();
    this.timer = setInterval(() => void this.sweep(), this.schedule.everyMs).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One pass now; never throws. */
  async sweep(): Promise<void> {
    try {
      await this.pass();
    } catch (error) {
      this.logger.warn(`sweep failed, retrying next time: ${(error as Error).message}`);
    }
  }
}
