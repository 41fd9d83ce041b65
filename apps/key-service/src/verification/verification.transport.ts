import { INestApplication, Logger } from '@nestjs/common';
import { KafkaContext, KafkaOptions, MessageHandler, MicroserviceOptions, ServerKafka } from '@nestjs/microservices';
import { Topic } from '@keyward/contracts';
import {
  CONSUMER_GROUP_TIMINGS,
  ConsumerSupervisor,
  kafkaConnection,
  kafkaLogCreator,
  KafkaTopicsService,
  REQUEST_REPLY_PRODUCER,
  Supervision,
} from '@keyward/kafka';
import { KeyServiceSettings } from '../config/key-service.env';

/**
 * Nest's Kafka server subscribes to the patterns of @MessagePattern handlers as topic names, but
 * those are fixed at compile time; this one prefixes them with KAFKA_TOPIC_NAMESPACE, as our own
 * producer and consumers do. Replies go to the partition each request names, and only ever to the
 * reply topic: the reply-topic header is written by whoever wrote the request, and a reply to
 * another topic would let a Kafka writer make key-service publish into any topic (or, for a topic
 * that does not exist, fail its producer). Nest leaves a crashed consumer stopped: the supervisor
 * runs it again.
 */
class NamespacedServerKafka extends ServerKafka {
  private readonly replyTopic: string;
  private readonly log = new Logger('VerificationTransport');
  private supervision?: Supervision;

  constructor(
    options: KafkaOptions['options'],
    private readonly namespace: string,
    private readonly supervisor: ConsumerSupervisor,
  ) {
    super(options ?? {});
    this.replyTopic = namespace + Topic.KeyVerifyReply;
  }

  protected override registerConsumerEventListeners(): void {
    super.registerConsumerEventListeners();
    const consumer = this.consumer!;
    this.supervision = this.supervisor.supervise(consumer, {
      group: this.groupId.slice(this.namespace.length),
      run: () => this.bindEvents(consumer),
    });
  }

  override async close(): Promise<void> {
    await this.supervision?.stop();
    await super.close();
  }

  override getPublisher(
    replyTopic: string,
    replyPartition: string,
    correlationId: string,
    context: KafkaContext,
  ): (data: unknown) => Promise<never[]> {
    if (replyTopic === this.replyTopic)
      return super.getPublisher(replyTopic, replyPartition, correlationId, context) as (
        data: unknown,
      ) => Promise<never[]>;
    return async () => {
      this.log.warn(
        `no reply to ${context.getTopic()}[${context.getPartition()}]@${context.getMessage().offset}: it asks for replies on another topic`,
      );
      return [];
    };
  }

  override addHandler(
    pattern: unknown,
    callback: MessageHandler,
    isEventHandler?: boolean,
    extras?: Record<string, unknown>,
  ): void {
    super.addHandler(
      typeof pattern === 'string' ? this.namespace + pattern : pattern,
      callback,
      isEventHandler,
      extras,
    );
  }
}

/**
 * Makes key-service a hybrid app answering verification requests over Kafka, and initialises the
 * app: the server starts consuming only after init, when VerificationService has joined the
 * key-events group, so no answer is cached in a window where a revocation would be missed.
 * Call before listen.
 */
export async function startVerificationTransport(app: INestApplication): Promise<void> {
  const settings = app.get(KeyServiceSettings);
  const topics = app.get(KafkaTopicsService);
  const namespace = topics.namespace;
  app.connectMicroservice<MicroserviceOptions>(
    {
      strategy: new NamespacedServerKafka(
        {
          client: {
            clientId: `${settings.SERVICE_NAME}-verify`,
            ...kafkaConnection(settings),
            logCreator: kafkaLogCreator,
          },
          // Every key-service instance shares the group: each request is answered once.
          consumer: {
            groupId: `${namespace}key-service-verify`,
            ...CONSUMER_GROUP_TIMINGS,
            allowAutoTopicCreation: false,
          },
          producer: REQUEST_REPLY_PRODUCER,
          postfixId: '',
        },
        namespace,
        app.get(ConsumerSupervisor),
      ),
    },
    { inheritAppConfig: true },
  );
  await topics.ensureTopics([Topic.KeyVerify, Topic.KeyVerifyReply]);
  await app.init();
  await app.startAllMicroservices();
}
