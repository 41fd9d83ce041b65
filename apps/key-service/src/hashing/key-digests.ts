import { BinaryToTextEncoding, createHash, Hash } from 'node:crypto';

/** SHA-256's block: HMAC pads its key to it (RFC 2104). */
const SHA256_BLOCK_BYTES = 64;

/**
 * HMAC-SHA256 under one secret (RFC 2104), with the secret's two padded blocks hashed once: each
 * call continues copies of those two hash states. createHmac sets a whole HMAC context up on every
 * call, which cost a cached verification in key-service about as much as everything else it does
 * (bench/RESULTS.md, "verify"); the output is createHmac's (key-hasher.spec.ts).
 */
class KeyedSha256 {
  private readonly inner: Hash;
  private readonly outer: Hash;

  constructor(secret: Buffer) {
    const block = Buffer.alloc(SHA256_BLOCK_BYTES);
    (secret.length > SHA256_BLOCK_BYTES ? createHash('sha256').update(secret).digest() : secret).copy(block);
    this.inner = createHash('sha256').update(block.map((byte) => byte ^ 0x36));
    this.outer = createHash('sha256').update(block.map((byte) => byte ^ 0x5c));
  }

  digest(text: string, encoding: BinaryToTextEncoding): string {
    return this.outer.copy().update(this.inner.copy().update(text).digest()).digest(encoding);
  }
}

/**
 * Keyed hash (HMAC-SHA256) of a whole key: what is stored and looked up, never the key itself.
 * Plain, for the internal verification listener's worker, which has no Nest container (KeyHasher
 * is the injectable one).
 */
export class KeyDigests {
  private readonly hmac: KeyedSha256;

  constructor(secret: string) {
    this.hmac = new KeyedSha256(Buffer.from(secret, 'utf8'));
  }

  hash(key: string): string {
    return this.hmac.digest(key, 'base64url');
  }

  /**
   * The document id of a key issued by key-service: 12 bytes of a keyed hash of the key (domain
   * separated from hash()), so verification finds the key by `_id`, the one lookup every store
   * answers from its primary index (hot lookups are by `_id`: see libs/mongo). Like
   * any key id it is shown to owners; without KEY_HASH_SECRET it says nothing about the key.
   */
  idOf(key: string): string {
    return this.hmac.digest(`key-id:${key}`, 'hex').slice(0, 24);
  }
}
