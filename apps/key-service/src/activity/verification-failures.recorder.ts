import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Clock } from '@keyward/platform';
import { HOUR_MS } from '@keyward/contracts';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeysRepository } from '../keys/keys.repository';
import { ActivityRepository } from './activity.repository';

interface Counts {
  revoked: number;
  expired: number;
  last: Date;
}

/**
 * Counts refused verifications of revoked and expired keys (a key being used after it stopped
 * working) in memory, and adds them to the key's activity entry of that hour every
 * ACTIVITY_FAILURES_FLUSH_MS: counts, never the key. Not from events: one event per refusal
 * would let any caller flood the key-events topic. Unknown keys belong to no account, and a closed
 * account's keys to an account that keeps no activity.
 */
@Injectable()
export class VerificationFailuresRecorder implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(VerificationFailuresRecorder.name);
  private readonly flushMs: number;
  /** By hour (ISO), then key id. */
  private pending = new Map<string, Map<string, Counts>>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly keys: KeysRepository,
    private readonly activity: ActivityRepository,
    private readonly clock: Clock,
    settings: KeyServiceSettings,
  ) {
    this.flushMs = settings.ACTIVITY_FAILURES_FLUSH_MS;
  }

  /** Counts `times` refusals of a key for this reason, now. */
  record(keyId: string, reason: 'revoked' | 'expired', times = 1): void {
    const now = this.clock.now();
    const hour = new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS).toISOString();
    this.add(hour, keyId, {
      revoked: reason === 'revoked' ? times : 0,
      expired: reason === 'expired' ? times : 0,
      last: now,
    });
  }

  private add(hour: string, keyId: string, counts: Counts): void {
    let keys = this.pending.get(hour);
    if (!keys) this.pending.set(hour, (keys = new Map()));
    const sum = keys.get(keyId);
    keys.set(
      keyId,
      sum
        ? {
            revoked: sum.revoked + counts.revoked,
            expired: sum.expired + counts.expired,
            last: sum.last > counts.last ? sum.last : counts.last,
          }
        : counts,
    );
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.flush(), this.flushMs).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /**
   * Writes what was counted since the last flush; on failure keeps it for the next one (a write
   * that failed half-way may then count some refusals twice: these are counts to read, not bill).
   */
  async flush(): Promise<void> {
    const batch = this.pending;
    if (batch.size === 0) return;
    this.pending = new Map();
    try {
      const ids = [...new Set([...batch.values()].flatMap((keys) => [...keys.keys()]))];
      const keys = new Map((await this.keys.findByIds(ids)).map((k) => [k.id as string, k]));
      await this.activity.addVerificationFailures(
        [...batch].flatMap(([hour, counts]) =>
          [...counts].flatMap(([keyId, c]) => {
            const key = keys.get(keyId);
            return key && !key.retainedUntil
              ? [
                  {
                    keyId,
                    ownerId: key.owner.userId,
                    label: key.label,
                    lastFive: key.lastFive,
                    hour: new Date(hour),
                    ...c,
                  },
                ]
              : [];
          }),
        ),
      );
    } catch (error) {
      this.logger.warn(
        `could not record refused verifications, keeping them for the next flush: ${(error as Error).message}`,
      );
      for (const [hour, counts] of batch) for (const [keyId, c] of counts) this.add(hour, keyId, c);
    }
  }
}
