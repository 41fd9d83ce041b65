import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Admin, Kafka } from 'kafkajs';
import { ConsumerSupervisor } from './consumer-supervisor';
import { KAFKA_CLIENT } from './kafka.tokens';

/**
 * Healthy when the cluster answers a metadata request within the timeout and every consumer the
 * process started is consuming: one that crashed is down until it has joined its group again.
 */
@Injectable()
export class KafkaHealthIndicator implements OnApplicationShutdown {
  private admin?: Promise<Admin>;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    private readonly indicators: HealthIndicatorService,
    private readonly consumers: ConsumerSupervisor,
  ) {}

  async check(key = 'kafka', timeoutMs = 1500) {
    const indicator = this.indicators.check(key);
    try {
      const admin = await (this.admin ??= this.connectAdmin());
      const cluster = await Promise.race([
        admin.describeCluster(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref()),
      ]);
      const notConsuming = this.consumers.notConsuming();
      if (notConsuming.length > 0)
        return indicator.down({ brokers: cluster.brokers.length, message: 'consumers not consuming', notConsuming });
      return indicator.up({ brokers: cluster.brokers.length });
    } catch (error) {
      this.admin = undefined;
      return indicator.down({
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private async connectAdmin(): Promise<Admin> {
    const admin = this.kafka.admin();
    await admin.connect();
    return admin;
  }

  async onApplicationShutdown(): Promise<void> {
    const admin = await this.admin?.catch(() => undefined);
    await admin?.disconnect();
  }
}
