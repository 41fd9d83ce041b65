import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ClientKafka, IncomingResponse, KafkaHeaders, KafkaOptions, PacketId, ReadPacket } from '@nestjs/microservices';
import {
  buildKeyVerifyRequest,
  isNotAKey,
  KeyVerification,
  KeyVerifyRequest,
  openKeyVerification,
  parseSealingKeys,
  SealingKey,
  Topic,
} from '@keyward/contracts';
import {
  CONSUMER_GROUP_TIMINGS,
  ConsumerSupervisor,
  groupOfThisProcess,
  kafkaConnection,
  KafkaConsumerFactory,
  KafkaSettings,
  KafkaTopicsService,
  ManagedConsumer,
  REQUEST_REPLY_PRODUCER,
  Supervision,
} from '@keyward/kafka';
import { createHash, randomUUID } from 'node:crypto';
import { firstValueFrom, timeout } from 'rxjs';
import { KEY_CLIENT_OPTIONS, KeyClientOptions } from './key-client.options';
import { keyInvalidationConsumer } from './key-invalidations';
import { VerificationCache } from './verification-cache';

/**
 * Nest's Kafka client, with each request's correlation id being its request id, which the sealed
 * request and reply are bound to. Nest leaves a crashed reply consumer stopped: the supervisor runs
 * it again.
 */
class KeyVerifyClientKafka extends ClientKafka {
  private supervision?: Supervision;

  constructor(
    options: KafkaOptions['options'],
    private readonly supervisor: ConsumerSupervisor,
    /** Its reply consumer's group as logs, metrics and /health name it (without this process's suffix). */
    private readonly group: string,
  ) {
    super(options ?? {});
  }

  protected override assignPacketId(packet: ReadPacket): ReadPacket & PacketId {
    return Object.assign(packet, { id: (packet.data as KeyVerifyRequest).requestId });
  }

  protected override registerConsumerEventListeners(): void {
    super.registerConsumerEventListeners();
    this.supervision = this.supervisor.supervise(this.consumer, { group: this.group, run: () => this.bindTopics() });
  }

  override async close(): Promise<void> {
    await this.supervision?.stop();
    await super.close();
  }
}

/** An id no request has: Nest hands the reply to nobody. */
const NOBODY = '';

/**
 * Verifies keys with key-service over Kafka request/reply (@nestjs/microservices), remembering
 * answers in a bounded local cache that key events keep honest: a revoked, expired or rotated key
 * is dropped as soon as its event arrives.
 *
 * Replies are read by a consumer group of this instance alone, so Nest's reply-partition
 * assigner always has one member and cannot fall into its rebalance bug (nestjs/nest#12355);
 * the price is that every instance reads every reply on the partition it names and ignores the
 * ones it did not ask for.
 *
 * Only a reply key-service sealed under this caller's key for exactly the pending request, on the
 * reply topic and recently, is an answer; anything else on the reply topic (forged, altered,
 * replayed to another request, stale, or one of key-service's unsealed error notes) is dropped
 * before Nest routes it, so it neither answers nor fails the request, and is never cached.
 */
@Injectable()
export class KeyClient implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(KeyClient.name);
  private readonly cache: VerificationCache<KeyVerification>;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly timeoutMs: number;
  private readonly requestTopic: string;
  private readonly client: ClientKafka;
  private readonly invalidations: ManagedConsumer;
  private readonly credentials: SealingKey[];
  /** Request ids awaiting an answer. */
  private readonly pending = new Set<string>();

  constructor(
    @Inject(KEY_CLIENT_OPTIONS) private readonly options: KeyClientOptions,
    kafkaSettings: KafkaSettings,
    private readonly topics: KafkaTopicsService,
    consumers: KafkaConsumerFactory,
    supervisor: ConsumerSupervisor,
  ) {
    this.cache = new VerificationCache({ maxEntries: options.cacheMaxEntries ?? 10_000 });
    this.ttlMs = options.cacheTtlMs ?? 60_000;
    this.negativeTtlMs = options.negativeCacheTtlMs ?? 5_000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.requestTopic = topics.name(Topic.KeyVerify);
    this.credentials = parseSealingKeys(options.credentials);
    const replies = `${options.clientName}-key-client`;
    const instance = groupOfThisProcess(replies);
    this.client = new KeyVerifyClientKafka(
      {
        client: { clientId: instance, ...kafkaConnection(kafkaSettings) },
        consumer: {
          groupId: topics.namespace + instance,
          ...CONSUMER_GROUP_TIMINGS,
          allowAutoTopicCreation: false,
        },
        producer: REQUEST_REPLY_PRODUCER,
        postfixId: '',
        deserializer: { deserialize: (message) => this.answerIn(message) },
      },
      supervisor,
      replies,
    );
    this.client.subscribeToResponseOf(this.requestTopic);
    this.invalidations = keyInvalidationConsumer(consumers, `${options.clientName}-key-client-cache`, {
      dropKey: (keyId) => this.cache.dropKey(keyId),
      dropAll: () => this.cache.clear(),
    });
  }

  async onModuleInit(): Promise<void> {
    await this.topics.ensureTopics([Topic.KeyVerify, Topic.KeyVerifyReply, Topic.KeyEvents]);
    await Promise.all([this.connect(), this.invalidations.start()]);
    this.logger.log(`verifying keys over ${this.requestTopic}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.client.close(), this.invalidations.stop()]);
  }

  /** Is this key valid? From the cache when it was asked recently, else from key-service. */
  verify(key: string): Promise<KeyVerification> {
    // Noise that key-service would answer `unknown` from its text alone costs no round trip either.
    if (isNotAKey(key)) return Promise.resolve({ valid: false, reason: 'unknown' });
    const hash = createHash('sha256').update(key).digest('base64url');
    return this.cache.resolve(hash, async () => {
      const request = buildKeyVerifyRequest(key, {
        topic: this.requestTopic,
        requestId: randomUUID(),
        callerKey: this.credentials[0],
        now: new Date(),
      });
      this.pending.add(request.requestId);
      const answer = await firstValueFrom(
        this.client.send<KeyVerification>(this.requestTopic, request).pipe(timeout(this.timeoutMs)),
      ).finally(() => this.pending.delete(request.requestId));
      const now = Date.now();
      if (!answer.valid) return { value: answer, expiresAtMs: now + this.negativeTtlMs };
      return {
        value: answer,
        keyId: answer.keyId,
        expiresAtMs: Math.min(now + this.ttlMs, Date.parse(answer.expiresAt)),
      };
    });
  }

  /** The answer a reply carries for the request its correlation id names, or nobody's when it is not authentic. */
  private answerIn(message: { headers: Record<string, unknown>; value: unknown; topic: string }): IncomingResponse {
    const requestId = String(message.headers[KafkaHeaders.CORRELATION_ID]);
    // Replies to other instances (other callers' among them) share the reply partitions: not ours, not news.
    if (!this.pending.has(requestId)) return { id: NOBODY };
    try {
      const response = openKeyVerification(message.value, {
        topic: message.topic,
        requestId,
        callerKeys: this.credentials,
        now: new Date(),
      });
      return { id: requestId, response, isDisposed: true };
    } catch (error) {
      this.logger.warn(`dropped a reply on ${message.topic} for request ${requestId}: ${(error as Error).message}`);
      return { id: NOBODY };
    }
  }

  /** Connects and waits for the reply partition: ClientKafka learns it when its group is joined. */
  private async connect(): Promise<void> {
    await this.client.connect();
    const deadline = Date.now() + 30_000;
    while (Object.keys(this.client.getConsumerAssignments()).length === 0) {
      if (Date.now() > deadline)
        throw new Error(`no reply partition assigned on ${this.requestTopic}.reply within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Keys currently remembered (for tests and metrics). */
  get cachedKeys(): number {
    return this.cache.size;
  }
}
