import { BinaryToTextEncoding, hash } from 'node:crypto';

/** SHA-256's block: HMAC pads its key to it (RFC 2104). */
const SHA256_BLOCK_BYTES = 64;
const SHA256_BYTES = 32;
/** Room for text of up to 341 characters (a UTF-16 unit is at most 3 bytes of UTF-8); longer text gets a buffer of its own. */
const TEXT_ROOM_BYTES = 1024;

/**
 * HMAC-SHA256 under one secret (RFC 2104) as two one-shot hashes over buffers that start with the
 * secret's padded blocks: H(opad ‖ H(ipad ‖ text)). createHmac, or copies of prepared hash states,
 * make native hash objects and buffers on every call, which a cached verification in key-service
 * paid more for than for anything else it does (bench/RESULTS.md, "verify"); the output is
 * createHmac's (key-hasher.spec.ts). Not reentrant, and need not be: it never yields.
 */
class KeyedSha256 {
  private readonly inner = Buffer.alloc(SHA256_BLOCK_BYTES + TEXT_ROOM_BYTES);
  private readonly outer = Buffer.alloc(SHA256_BLOCK_BYTES + SHA256_BYTES);

  constructor(secret: Buffer) {
    const key = secret.length > SHA256_BLOCK_BYTES ? hash('sha256', secret, 'buffer') : secret;
    for (let i = 0; i < SHA256_BLOCK_BYTES; i++) {
      const byte = key[i] ?? 0;
      this.inner[i] = byte ^ 0x36;
      this.outer[i] = byte ^ 0x5c;
    }
  }

  digest(text: string, encoding: BinaryToTextEncoding): string {
    const inner =
      text.length * 3 <= TEXT_ROOM_BYTES
        ? this.inner.subarray(0, SHA256_BLOCK_BYTES + this.inner.write(text, SHA256_BLOCK_BYTES, 'utf8'))
        : Buffer.concat([this.inner.subarray(0, SHA256_BLOCK_BYTES), Buffer.from(text, 'utf8')]);
    hash('sha256', inner, 'buffer').copy(this.outer, SHA256_BLOCK_BYTES);
    // The text is a key: it does not stay behind in the buffer.
    inner.fill(0, SHA256_BLOCK_BYTES);
    return hash('sha256', this.outer, encoding);
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
