import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cacheable, VerificationCache } from './verification-cache';

function cacheAt(maxEntries = 3) {
  const clock = { now: 1_000 };
  return { clock, cache: new VerificationCache<string>({ maxEntries, now: () => clock.now }) };
}
const entry = (value: string, expiresAtMs: number, keyId?: string): Cacheable<string> => ({
  value,
  keyId,
  expiresAtMs,
});

describe('verification cache', () => {
  it('answers a hit without loading, and loads a miss once', async () => {
    const { cache } = cacheAt();
    let loads = 0;
    const load = async () => {
      loads++;
      return entry('valid', 5_000, 'k1');
    };
    assert.equal(await cache.resolve('h1', load), 'valid');
    assert.equal(await cache.resolve('h1', load), 'valid');
    assert.equal(loads, 1);
  });

  it('shares one load between concurrent misses of the same hash', async () => {
    const { cache } = cacheAt();
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 10));
      return entry('valid', 5_000, 'k1');
    };
    assert.deepEqual(await Promise.all([cache.resolve('h1', load), cache.resolve('h1', load)]), ['valid', 'valid']);
    assert.equal(loads, 1);
  });

  it('forgets an entry at its expiry, and never stores one already expired', () => {
    const { cache, clock } = cacheAt();
    cache.set('h1', entry('valid', 2_000, 'k1'));
    assert.equal(cache.get('h1'), 'valid');
    clock.now = 2_000;
    assert.equal(cache.get('h1'), undefined);
    cache.set('h2', entry('valid', 2_000, 'k2'));
    assert.equal(cache.get('h2'), undefined);
  });

  it('evicts the least recently used entry when full', () => {
    const { cache } = cacheAt(2);
    cache.set('h1', entry('one', 9_000, 'k1'));
    cache.set('h2', entry('two', 9_000, 'k2'));
    cache.get('h1');
    cache.set('h3', entry('three', 9_000, 'k3'));
    assert.equal(cache.size, 2);
    assert.equal(cache.get('h2'), undefined, 'h2 was least recently used');
    assert.equal(cache.get('h1'), 'one');
    assert.equal(cache.get('h3'), 'three');
    assert.equal(cache.dropKey('k2'), false, 'the evicted key is no longer indexed');
  });

  it('drops a key by its id', () => {
    const { cache } = cacheAt();
    cache.set('h1', entry('valid', 9_000, 'k1'));
    cache.set('h2', entry('valid', 9_000, 'k2'));
    assert.equal(cache.dropKey('k1'), true);
    assert.equal(cache.get('h1'), undefined);
    assert.equal(cache.get('h2'), 'valid');
    assert.equal(cache.dropKey('unknown'), false);
  });

  it('forgets every key at once, and does not store an answer loaded meanwhile', async () => {
    const { cache } = cacheAt();
    cache.set('h1', entry('valid', 5_000, 'k1'));
    cache.set('h2', entry('revoked', 5_000, 'k2'));
    let finishLoad!: (value: Cacheable<string>) => void;
    const loading = cache.resolve('h3', () => new Promise((resolve) => (finishLoad = resolve)));
    cache.clear();
    finishLoad(entry('valid', 5_000, 'k3'));
    assert.equal(await loading, 'valid');
    assert.equal(cache.get('h1'), undefined);
    assert.equal(cache.get('h2'), undefined);
    assert.equal(cache.get('h3'), undefined, 'a load that began before the clear is not kept');
    assert.equal(cache.size, 0);
  });

  it('does not store an answer loaded while its key was dropped', async () => {
    const { cache } = cacheAt();
    let release!: () => void;
    const loading = cache.resolve(
      'h1',
      () => new Promise((resolve) => (release = () => resolve(entry('valid (stale)', 9_000, 'k1')))),
    );
    cache.dropKey('k1');
    release();
    assert.equal(await loading, 'valid (stale)', 'the caller that asked before the drop gets its answer');
    assert.equal(cache.get('h1'), undefined, 'but it is not kept');
  });

  it('lets a failed load fail its callers and not poison the cache', async () => {
    const { cache } = cacheAt();
    await assert.rejects(
      cache.resolve('h1', async () => {
        throw new Error('database down');
      }),
      /database down/,
    );
    assert.equal(await cache.resolve('h1', async () => entry('valid', 9_000, 'k1')), 'valid');
  });
});
