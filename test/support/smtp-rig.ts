import { emailsSettled, isolatedEnv, Mailpit, ServiceProcess } from '@keyward/testing';
import mongoose from 'mongoose';
import { MailpitServer } from './mailpit-server';
import { NotificationKafka } from './notification-kafka';

/**
 * notification-service alone, sending through a Mailpit of the test's own (the shared one stays
 * up) that refuses recipients whose address starts with "r" and that the test may stop and resume.
 * Retries take fractions of a second, so an outage lasts seconds.
 */
export class SmtpRig {
  readonly mailpit: Mailpit;

  private constructor(
    readonly smtp: MailpitServer,
    private readonly service: ServiceProcess,
    readonly kafka: NotificationKafka,
    /** notification-service's database. */
    readonly db: mongoose.Connection,
    private readonly namespace: string,
  ) {
    this.mailpit = new Mailpit(smtp.url);
  }

  static async start({ env, mongoUri }: ReturnType<typeof isolatedEnv>): Promise<SmtpRig> {
    const smtp = await MailpitServer.start(['--smtp-allowed-recipients', '^[a-qs-z]']);
    const service = await ServiceProcess.start('notification-service', {
      ...env,
      SMTP_PORT: String(smtp.smtpPort),
      MONGO_URI: mongoUri('notifications'),
      DELIVERY_RETRY_BASE_MS: '200',
      DELIVERY_RETRY_MAX_MS: '1000',
      DELIVERY_RETRY_POLL_MS: '100',
    });
    const kafka = new NotificationKafka(env.KAFKA_TOPIC_NAMESPACE);
    await kafka.start();
    const db = await mongoose.createConnection(mongoUri('notifications')).asPromise();
    return new SmtpRig(smtp, service, kafka, db, env.KAFKA_TOPIC_NAMESPACE);
  }

  /** Once it resolves, every email owed so far was sent or failed for good. */
  async settled(): Promise<void> {
    await emailsSettled({ namespace: this.namespace, notifications: this.db });
  }

  async stop(): Promise<void> {
    await Promise.all([this.kafka.stop(), this.service.stop(), this.db.close()]);
    await this.smtp.stop();
  }
}
