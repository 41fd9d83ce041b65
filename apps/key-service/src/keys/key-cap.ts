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

/**
 * An account's lease. It outlives its holders: a release lapses it (`until` in the past) and leaves
 * `bound`, at least the account's working keys, vouched for by the holder that wrote it
 * (`boundBy`). Revocations and expiries only lower the real count, so a bound stays safe without
 * them; whatever makes a key work outside a lease voids it (keysAddedElsewhere).
 */
interface CapLease {
  _id: string;
  holder: string;
  until: Date;
  bound?: number;
  /**
   * The holder whose release wrote `bound`. A bound is believed only while `holder` is still that
   * one: a later holder that stopped without releasing (a crash, or the previous version, which
   * never writes a bound and deletes the lease on release) may have added a key, and left its own
   * name in `holder`.
   */
  boundBy?: string;
}

/** This instance's hold on an account's lease, kept while more of the account's requests wait in line. */
interface Held {
  holder: string;
  /** When the lease lapses (ms since the epoch). */
  until: number;
  /** `boundBy` as this hold found it: its release writes a bound only if nobody voided it meanwhile. */
  boundBy?: string;
  /**
   * At least the account's working keys (exact right after a count): the lease's bound, or counted
   * under this lease, plus the keys added since; unknown after a failure.
   */
  active?: number;
  /**
   * A change got past its check under this hold. Should the lease run out under its write (slower
   * than LEASE_MARGIN_MS), another holder may count before that key lands and leave a bound without it.
   */
  wrote?: boolean;
}

/** `until` of a released lease: lapsed by every instance's clock. */
const LAPSED = new Date(0);

/**
 * The active-key limit (KEY_MAX_ACTIVE_PER_OWNER), held under concurrent requests on any number of
 * instances. Count-then-insert alone lets concurrent creates all see room; so a change that adds a
 * working key (create, rotate) first claims its account's lease — one document per account in
 * `key_cap_leases`, taken by a conditional upsert on `_id` — then checks and writes, then releases.
 * The check needs no count while the lease's bound leaves room: a bound only ever overestimates (a
 * create adds one key, a rotation at most one; revocations and expiries only remove keys), so only a
 * bound at the limit is checked against a count, taken from the keys themselves, which becomes the
 * new bound. A lease without a believable bound (new, left by a holder that stopped, written by the
 * previous version, voided by keysAddedElsewhere) is counted too. A holder that dies leaves a lease
 * that runs out. Requests of one account on this instance queue in memory first, so only instances
 * poll the lease; requests already in line when one finishes keep its lease and its bound.
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
      lease = await this.acquire(ownerId);
      this.held.set(ownerId, lease);
    }
    const heldUntil = lease.until;
    let adding = false;
    try {
      // A bound that would refuse may be stale (revocations, expiries): only a count refuses.
      if (lease.active === undefined || lease.active - replacing >= this.maxActive) {
        lease.active = await this.keys.countActive(ownerId, now);
      }
      if (lease.active - replacing >= this.maxActive) {
        throw new ConflictException(
          `You already have ${this.maxActive} active keys; revoke one (or wait for a rotated key's grace period to end) first`,
        );
      }
      adding = lease.wrote = true;
      const added = await addKey(() => {
        if (Date.now() > heldUntil - LEASE_MARGIN_MS) {
          this.logger.warn({ ownerId }, 'key change too slow to commit within its cap lease');
          throw new ServiceUnavailableException({
            message: 'The service is slow right now; try again',
            retryAfterSeconds: 1,
          });
        }
      });
      // A create adds one working key; a rotation at most one (its old key ended, or works on through its grace period).
      lease.active++;
      return added;
    } catch (error) {
      // Whether it wrote a key before failing is not known here (a refusal wrote none: its count stands).
      if (adding) lease.active = undefined;
      throw error;
    } finally {
      if (!othersInLine()) await this.release(ownerId, lease);
    }
  }

  /**
   * Keys of the account were made working outside withRoom (an import, a rotation's replacement
   * activated by the outbox relay): call it after that write. Voids the lease's bound, for the next
   * holder and for a current one's release (both expect `boundBy` as they last saw it), so the next
   * change counts, and sees those keys. No lease yet: its first holder counts anyway.
   */
  async keysAddedElsewhere(ownerId: string): Promise<void> {
    await this.leases().updateOne({ _id: ownerId }, { $set: { boundBy: `elsewhere ${randomUUID()}` } });
  }

  /** The account closed: its lease goes (safe to repeat; a release afterwards matches nothing). */
  async forgetAccount(ownerId: string): Promise<void> {
    await this.leases().deleteOne({ _id: ownerId });
  }

  /** Lapses the lease, leaving its bound for the account's next change (unless voided meanwhile). */
  private async release(ownerId: string, lease: Held): Promise<void> {
    this.held.delete(ownerId);
    try {
      if (lease.active !== undefined) {
        const { matchedCount } = await this.leases().updateOne(
          { _id: ownerId, holder: lease.holder, boundBy: lease.boundBy ?? { $exists: false } },
          { $set: { until: LAPSED, bound: lease.active, boundBy: lease.holder } },
        );
        if (matchedCount === 1) return;
      }
      // No bound to leave: `boundBy` stays another's than this holder's, so the next holder counts.
      const { matchedCount } = await this.leases().updateOne(
        { _id: ownerId, holder: lease.holder },
        { $set: { until: LAPSED } },
      );
      // Another holder took the lease since: its bound may lack the key written under this hold.
      if (matchedCount === 0 && lease.wrote) await this.keysAddedElsewhere(ownerId);
    } catch (error) {
      this.logger.warn({ ownerId, err: error }, 'cap lease not released; it runs out');
    }
  }

  /** Waits (polling with jitter) until this request holds the account's lease, and reads its bound. */
  private async acquire(ownerId: string): Promise<Held> {
    const holder = randomUUID();
    const deadline = Date.now() + WAIT_MS;
    for (let pause = 10; ; pause = Math.min(pause * 2, 250)) {
      const now = Date.now();
      const until = now + LEASE_MS;
      try {
        // Matches a missing or lapsed lease; a live one makes the upsert's insert hit the _id.
        const found = await this.leases().findOneAndUpdate(
          { _id: ownerId, until: { $lte: new Date(now) } },
          { $set: { holder, until: new Date(until) } },
          // No projection: the stand-in's findAndModify has none, and the document is small.
          { upsert: true, returnDocument: 'before' },
        );
        const believed = found !== null && found.boundBy === found.holder;
        return {
          holder,
          until,
          boundBy: found?.boundBy,
          active: believed && typeof found.bound === 'number' ? found.bound : undefined,
        };
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
