import { ConflictException, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { isDuplicateKeyError } from '@keyward/mongo';
import { Connection } from 'mongoose';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeysRepository } from './keys.repository';

/** How long a claim on an account's key count lasts if its holder dies without releasing it. */
const LEASE_MS = 15_000;
/** A holder this close to its lease's end no longer commits: another request may take over. */
const LEASE_MARGIN_MS = 5_000;
/** How long a request waits for the account's other key changes before it gives up with 503. */
const WAIT_MS = 10_000;

interface CapLease {
  _id: string;
  holder: string;
  until: Date;
}

/** This instance's hold on an account's lease, kept while more of the account's requests wait in line. */
interface Held {
  holder: string;
  /** When the lease lapses (ms since the epoch). */
  until: number;
  /** The account's working keys, counted under this lease and kept since; unknown after a failure. */
  active?: number;
}

/**
 * The active-key limit (KEY_MAX_ACTIVE_PER_OWNER), held under concurrent requests on any number of
 * instances. Count-then-insert alone lets concurrent creates all see room; so a change that adds a
 * working key (create, rotate) first claims its account's lease — one document per account in
 * `key_cap_leases`, taken by a conditional upsert on `_id` — then counts and writes, then releases.
 * The count is always taken from the keys themselves, so keys written before this lease existed,
 * revocations and expiries need no bookkeeping. A holder that dies leaves a lease that runs out.
 * Requests of one account on this instance queue in memory first, so only instances poll the lease;
 * requests already in line when one finishes keep its lease and its count (plus the key it created),
 * so a burst of creates costs one lease and one count, not one each. Revocations and expiries meanwhile
 * only lower the real count, so the kept one never lets a key past the limit.
 */
@Injectable()
export class KeyCap {
  private readonly logger = new Logger(KeyCap.name);
  private readonly maxActive: number;
  /** The last request in line per account on this instance. */
  private readonly queues = new Map<string, Promise<void>>();
  /** Leases this instance holds for the requests in line. */
  private readonly held = new Map<string, Held>();

  constructor(
    @InjectConnection() private readonly connection: Connection,
    private readonly keys: KeysRepository,
    settings: KeyServiceSettings,
  ) {
    this.maxActive = settings.KEY_MAX_ACTIVE_PER_OWNER;
  }

  /**
   * Runs `addKey` while no other change can add a key to the account, if there is room for one
   * more working key: `replacing` is 1 for a rotation, whose new key takes the slot of the one it
   * replaces. `addKey` receives a check to call right before its committing write.
   */
  async withRoom<T>(
    ownerId: string,
    replacing: 0 | 1,
    now: Date,
    addKey: (assertHeld: () => void) => Promise<T>,
  ): Promise<T> {
    const ahead = this.queues.get(ownerId);
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    this.queues.set(ownerId, mine);
    try {
      await ahead;
      return await this.whileLeased(ownerId, replacing, now, addKey, () => this.queues.get(ownerId) !== mine);
    } finally {
      done();
      if (this.queues.get(ownerId) === mine) this.queues.delete(ownerId);
    }
  }

  private async whileLeased<T>(
    ownerId: string,
    replacing: 0 | 1,
    now: Date,
    addKey: (assertHeld: () => void) => Promise<T>,
    othersInLine: () => boolean,
  ): Promise<T> {
    let lease = this.held.get(ownerId);
    if (lease && Date.now() > lease.until - LEASE_MARGIN_MS) {
      await this.release(ownerId, lease);
      lease = undefined;
    }
    if (!lease) {
      const holder = randomUUID();
      lease = { holder, until: await this.acquire(ownerId, holder) };
      this.held.set(ownerId, lease);
    }
    const heldUntil = lease.until;
    try {
      lease.active ??= await this.keys.countActive(ownerId, now);
      if (lease.active - replacing >= this.maxActive) {
        throw new ConflictException(
          `You already have ${this.maxActive} active keys; revoke one (or wait for a rotated key's grace period to end) first`,
        );
      }
      const added = await addKey(() => {
        if (Date.now() > heldUntil - LEASE_MARGIN_MS) {
          this.logger.warn({ ownerId }, 'key change too slow to commit within its cap lease');
          throw new ServiceUnavailableException({
            message: 'The service is slow right now; try again',
            retryAfterSeconds: 1,
          });
        }
      });
      // A create adds one working key; a rotation may also have ended its old key: count again.
      lease.active = replacing === 0 ? lease.active + 1 : undefined;
      return added;
    } catch (error) {
      // Whether it wrote a key before failing is not known here.
      lease.active = undefined;
      throw error;
    } finally {
      if (!othersInLine()) await this.release(ownerId, lease);
    }
  }

  private async release(ownerId: string, lease: Held): Promise<void> {
    this.held.delete(ownerId);
    await this.leases()
      .deleteOne({ _id: ownerId, holder: lease.holder })
      .catch((error: unknown) => this.logger.warn({ ownerId, err: error }, 'cap lease not released; it runs out'));
  }

  /** Waits (polling with jitter) until this request holds the account's lease; when it lapses. */
  private async acquire(ownerId: string, holder: string): Promise<number> {
    const deadline = Date.now() + WAIT_MS;
    for (let pause = 10; ; pause = Math.min(pause * 2, 250)) {
      const now = Date.now();
      const until = now + LEASE_MS;
      try {
        // Matches a missing or lapsed lease; a live one makes the upsert's insert hit the _id.
        await this.leases().updateOne(
          { _id: ownerId, until: { $lte: new Date(now) } },
          { $set: { holder, until: new Date(until) } },
          { upsert: true },
        );
        return until;
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      if (Date.now() + pause > deadline) {
        throw new ServiceUnavailableException({
          message: 'Other changes to this account’s keys are in progress; try again',
          retryAfterSeconds: 1,
        });
      }
      await sleep(pause * (0.5 + Math.random()));
    }
  }

  private leases() {
    return this.connection.collection<CapLease>('key_cap_leases');
  }
}
