import { LRUCache } from 'lru-cache';

/** What a loader hands the cache: the value, the key it belongs to (if known) and when it stops being trustworthy. */
export interface Cacheable<V> {
  value: V;
  /** The key's id, so a key event can drop the entry; unknown for "no such key". */
  keyId?: string;
  expiresAtMs: number;
}

export interface VerificationCacheOptions {
  maxEntries: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

interface Entry<V> {
  value: V;
  keyId?: string;
}

/**
 * A bounded LRU of verification results keyed by a hash of the key (never the key itself), with
 * per-entry expiry (lru-cache) and an index by keyId so a key event can drop a key it only names
 * by id.
 *
 * Lookups of the same hash share one load. A load that started before a key was dropped does not
 * store its (possibly stale) answer: drops bump a generation that loads compare before storing.
 * (lru-cache's own `fetch` would store whatever a load returns, and an aborted fetch fails its
 * waiters instead of handing them the answer, so single-flight stays here.)
 */
export class VerificationCache<V> {
  private readonly entries: LRUCache<string, Entry<V>>;
  private readonly hashByKeyId = new Map<string, string>();
  private readonly loading = new Map<string, Promise<V>>();
  private readonly now: () => number;
  private generation = 0;

  constructor(options: VerificationCacheOptions) {
    this.now = options.now ?? Date.now;
    this.entries = new LRUCache<string, Entry<V>>({
      max: options.maxEntries,
      perf: { now: this.now },
      // Read the clock on every check: an entry must not outlive the key's expiry by a tick.
      ttlResolution: 0,
      // Evicted, expired, replaced or deleted: its keyId no longer points here.
      dispose: (entry, hash) => {
        if (entry.keyId && this.hashByKeyId.get(entry.keyId) === hash) this.hashByKeyId.delete(entry.keyId);
      },
    });
  }

  get size(): number {
    this.entries.purgeStale();
    return this.entries.size;
  }

  /** The cached value, or undefined when absent or expired; a hit becomes the most recently used. */
  get(hash: string): V | undefined {
    return this.entries.get(hash)?.value;
  }

  /** The key a cached answer is about (also for a refusal), without making it more recently used. */
  keyIdOf(hash: string): string | undefined {
    return this.entries.peek(hash)?.keyId;
  }

  /** The cached value, else the loader's (stored unless a key was dropped while it loaded). */
  resolve(hash: string, load: (hash: string) => Promise<Cacheable<V>>): Promise<V> {
    const cached = this.get(hash);
    if (cached !== undefined) return Promise.resolve(cached);
    const pending = this.loading.get(hash);
    if (pending) return pending;
    const generation = this.generation;
    const loaded = load(hash)
      .then((result) => {
        if (generation === this.generation) this.set(hash, result);
        return result.value;
      })
      .finally(() => this.loading.delete(hash));
    this.loading.set(hash, loaded);
    return loaded;
  }

  set(hash: string, { value, keyId, expiresAtMs }: Cacheable<V>): void {
    // lru-cache counts an entry stale only after `ttl` has passed; ours stop at expiresAtMs itself.
    const ttl = expiresAtMs - this.now() - 1;
    if (ttl <= 0) return;
    this.entries.set(hash, { value, keyId }, { ttl });
    if (keyId) this.hashByKeyId.set(keyId, hash);
  }

  /** Forgets every key: key events may have been missed, so no cached answer is trusted. */
  clear(): void {
    this.generation++;
    this.entries.clear();
  }

  /** Forgets a key (revoked, expired, rotated, changed): the next verification asks again. */
  dropKey(keyId: string): boolean {
    this.generation++;
    const hash = this.hashByKeyId.get(keyId);
    return hash !== undefined && this.entries.delete(hash);
  }
}
