import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AsyncResource } from 'node:async_hooks';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeysRepository } from '../keys/keys.repository';

/**
 * Remembers when each key was last verified and writes those times in one batch every
 * LAST_USED_FLUSH_MS (and on shutdown), rather than a write per verification. A crash loses at
 * most one interval of lastUsedAt, which is informational.
 */
@Injectable()
export class LastUsedRecorder implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LastUsedRecorder.name);
  private readonly flushMs: number;
  private pending = new Map<string, Date>();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly keys: KeysRepository,
    settings: KeyServiceSettings,
  ) {
    this.flushMs = settings.LAST_USED_FLUSH_MS;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(this.tick, this.flushMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  record(keyId: string, at: Date): void {
    const previous = this.pending.get(keyId);
    if (!previous || previous < at) this.pending.set(keyId, at);
  }

  /** Writes what is pending; one flush at a time. A failed batch is merged back for the next. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();
      try {
        await this.keys.recordLastUsed(batch);
        this.logger.debug(`recorded lastUsedAt of ${batch.size} keys`);
      } catch (error) {
        for (const [keyId, at] of batch) this.record(keyId, at);
        this.logger.warn(`could not record lastUsedAt of ${batch.size} keys: ${(error as Error).message}`);
      }
    });
    return this.flushing;
  }

  /** Bound at construction so flushes do not inherit the context (and log fields) of a request. */
  private readonly tick = AsyncResource.bind(() => void this.flush());
}
