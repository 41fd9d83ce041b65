import { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { KafkaOptions, MessageHandler, MicroserviceOptions, ServerKafka } from '@nestjs/microservices';
import { Topic } from '@keyward/contracts';
import { CONSUMER_GROUP_TIMINGS, KafkaTopicsService } from '@keyward/kafka';
import { Partitioners } from 'kafkajs';

/**
 * Nest's Kafka server subscribes to the patterns of @MessagePattern handlers as topic names, but
 * those are fixed at compile time; this one prefixes them with KAFKA_TOPIC_NAMESPACE, as our own
 * producer and consumers do. Replies go to the topic and partition each request names.
 */
class NamespacedServerKafka extends ServerKafka {
  constructor(
    options: KafkaOptions['options'],
    private readonly namespace: string,
  ) {
    super(options ?? {});
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

/** Makes key-service a hybrid app answering verification requests over Kafka; call before listen. */
export async function connectVerificationTransport(app: INestApplication): Promise<void> {
  const config = app.get(ConfigService);
  const topics = app.get(KafkaTopicsService);
  const namespace = topics.namespace;
  app.connectMicroservice<MicroserviceOptions>(
    {
      strategy: new NamespacedServerKafka(
        {
          client: {
            clientId: `${config.getOrThrow<string>('SERVICE_NAME')}-verify`,
            brokers: config.getOrThrow<string[]>('KAFKA_BROKERS'),
          },
          // Every key-service instance shares the group: each request is answered once.
          consumer: {
            groupId: `${namespace}key-service-verify`,
            ...CONSUMER_GROUP_TIMINGS,
            allowAutoTopicCreation: false,
          },
          producer: { allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner },
          postfixId: '',
        },
        namespace,
      ),
    },
    { inheritAppConfig: true },
  );
  // Runs before the app's init, which is where our producer would otherwise create the topics.
  await topics.ensureTopics([Topic.KeyVerify, Topic.KeyVerifyReply]);
  await app.startAllMicroservices();
}
