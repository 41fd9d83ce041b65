import { emailsSettled, isolatedEnv, ServiceProcess } from '@keyward/testing';
import mongoose from 'mongoose';

/**
 * key-service and notification-service processes on the shared stack, in the test's own namespace
 * and databases, with a connection to each database for looking inside.
 */
export class KeywardSystem {
  private constructor(
    private readonly keyService: ServiceProcess,
    private readonly notificationService: ServiceProcess,
    /** key-service's database. */
    readonly keysDb: mongoose.Connection,
    /** notification-service's database. */
    readonly notificationsDb: mongoose.Connection,
    private readonly namespace: string,
  ) {}

  /** `keyServiceEnv`, `notificationServiceEnv`: each service's settings for this test, over the isolated ones. */
  static async start(
    { env, mongoUri }: ReturnType<typeof isolatedEnv>,
    keyServiceEnv: Record<string, string> = {},
    notificationServiceEnv: Record<string, string> = {},
  ): Promise<KeywardSystem> {
    const [keyService, notificationService] = await Promise.all([
      ServiceProcess.start('key-service', { ...env, MONGO_URI: mongoUri('keys'), ...keyServiceEnv }),
      ServiceProcess.start('notification-service', {
        ...env,
        MONGO_URI: mongoUri('notifications'),
        ...notificationServiceEnv,
      }),
    ]);
    const [keysDb, notificationsDb] = await Promise.all(
      [mongoUri('keys'), mongoUri('notifications')].map((uri) => mongoose.createConnection(uri).asPromise()),
    );
    return new KeywardSystem(keyService, notificationService, keysDb, notificationsDb, env.KAFKA_TOPIC_NAMESPACE);
  }

  /** key-service's address: the API and the web app. */
  get url(): string {
    return this.keyService.url;
  }

  /** key-service's log file, for what it must never write. */
  get keyServiceLog(): string {
    return this.keyService.logFile;
  }

  /** Once it resolves, every email owed so far was sent: one missing from Mailpit was never sent. */
  async settled(): Promise<void> {
    await emailsSettled({ namespace: this.namespace, keys: this.keysDb, notifications: this.notificationsDb });
  }

  async stop(): Promise<void> {
    await Promise.all([this.keysDb.close(), this.notificationsDb.close()]);
    await Promise.all([this.keyService.stop(), this.notificationService.stop()]);
  }
}
