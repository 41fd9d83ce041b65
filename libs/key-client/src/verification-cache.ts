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
  expiresAtMs: number;
}

/**
 * A bounded LRU of verification results keyed by a hash of the key (never the key itself), with
 * per-entry expiry and an index by keyId so a key event can drop a key it only names by id.
 *
 * Lookups of the same hash share one load. A load that started before a key was dropped does not
 * store its (possibly stale) answer: drops bump a generation that loads compare before storing.
 */
export class VerificationCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly hashByKeyId = new Map<string, string>();
  private readonly loading = new Map<string, Promise<V>>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  private generation = 0;

  constructor(options: VerificationCacheOptions) {
    this.maxEntries = options.maxEntries;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached value, or undefined when absent or expired; a hit becomes the most recently used. */
  get(hash: string): V | undefined {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    if (entry.expiresAtMs <= this.now()) {
      this.delete(hash, entry);
      return undefined;
    }
    this.entries.delete(hash);
    this.entries.set(hash, entry);
    return entry.value;
  }

  /** The cached value, else the loader's (stored unless the key was dropped while it loaded). */
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
    if (expiresAtMs <= this.now()) return;
    const previous = this.entries.get(hash);
    if (previous) this.delete(hash, previous);
    while (this.entries.size >= this.maxEntries) {
      const [oldestHash, oldest] = this.entries.entries().next().value as [string, Entry<V>];
      this.delete(oldestHash, oldest);
    }
    this.entries.set(hash, { value, keyId, expiresAtMs });
    if (keyId) this.hashByKeyId.set(keyId, hash);
  }

  /** Forgets a key (revoked, expired, rotated, changed): the next verification asks again. */
  dropKey(keyId: string): boolean {
    this.generation++;
    const hash = this.hashByKeyId.get(keyId);
    const entry = hash === undefined ? undefined : this.entries.get(hash);
    if (hash === undefined || !entry) return false;
    this.delete(hash, entry);
    return true;
  }

  private delete(hash: string, entry: Entry<V>): void {
    this.entries.delete(hash);
    if (entry.keyId && this.hashByKeyId.get(entry.keyId) === hash) this.hashByKeyId.delete(entry.keyId);
  }
}
