export interface KeyClientOptions {
  /**
   * This service's own credentials for Kafka verification, `id:base64key` (a 32-byte key), as
   * listed for it in key-service's KEY_VERIFY_CALLERS. Several, comma-separated, while a key is
   * rotated: the first seals new requests, any of them opens replies.
   */
  credentials: string;
  /** Names this service's consumer groups (e.g. the service name). */
  clientName: string;
  /** Most verifications kept in memory (default 10,000). */
  cacheMaxEntries?: number;
  /** How long a valid key is trusted without asking again (default 60 s; never past its expiry). */
  cacheTtlMs?: number;
  /** How long "not valid" is remembered (default 5 s). */
  negativeCacheTtlMs?: number;
  /** How long to wait for key-service's answer (default 5 s). */
  timeoutMs?: number;
}

export const KEY_CLIENT_OPTIONS = Symbol('KEY_CLIENT_OPTIONS');
