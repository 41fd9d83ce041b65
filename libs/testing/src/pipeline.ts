import { Topic } from '@keyward/contracts';
import { Admin, Kafka, logLevel } from 'kafkajs';
import type { Connection } from 'mongoose';
import { sleep } from './mailpit';
import { stack } from './stack';

/** The consumer groups on the email path, as key-service and notification-service name them. */
const REMINDER_COMMANDS_GROUP = 'key-service-reminders';
const NOTIFICATIONS_GROUP = 'notification-service';

/**
 * Resolves once every email the services were asked for before the call has reached the SMTP
 * server or failed for good: key-service has handled every reminder command and published every
 * event in its outboxes, notification-service has handled every key event and login code, and no delivery waits
 * for an attempt. After it an email missing from Mailpit was never sent, so "exactly once" can be
 * asserted without waiting for extras. Each stage is checked after the one feeding it (consumers
 * commit only handled messages), so a pass that finds all idle saw the whole path idle. Fails at
 * the deadline, naming the stage still busy.
 */
export async function emailsSettled({
  namespace,
  keys,
  notifications,
  brokers = stack.kafkaBrokers,
  timeoutMs = 60_000,
}: {
  /** The test's KAFKA_TOPIC_NAMESPACE. */
  namespace: string;
  /** key-service's database, when key-service runs: its reminder commands and outboxes are checked. */
  keys?: Connection;
  /** notification-service's database. */
  notifications: Connection;
  /** The services' KAFKA_BROKERS, when not the shared stack's (a test's own Kafka). */
  brokers?: string;
  timeoutMs?: number;
}): Promise<void> {
  const admin = new Kafka({
    clientId: 'keyward-tests',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const busy = async (): Promise<string | undefined> => {
      if (keys) {
        if (!(await caughtUp(admin, namespace, REMINDER_COMMANDS_GROUP, Topic.KeyReminderCommands))) {
          return 'key-service has reminder commands to handle';
        }
        const waiting = await keys.collection('keys').countDocuments({ outboxAt: { $ne: null } });
        if (waiting > 0) return `${waiting} keys hold unpublished events`;
      }
      if (!(await caughtUp(admin, namespace, NOTIFICATIONS_GROUP, Topic.KeyEvents))) {
        return 'notification-service has key events to handle';
      }
      if (!(await caughtUp(admin, namespace, `${NOTIFICATIONS_GROUP}.login-codes`, Topic.LoginCodes))) {
        return 'notification-service has login codes to handle';
      }
      const open = await notifications
        .collection('deliveries')
        .countDocuments({ status: { $in: ['pending', 'sending'] } });
      return open > 0 ? `${open} deliveries wait for an attempt` : undefined;
    };
    const deadline = Date.now() + timeoutMs;
    for (let stage = await busy(); stage; stage = await busy()) {
      if (Date.now() > deadline) throw new Error(`emails not settled within ${timeoutMs} ms: ${stage}`);
      await sleep(100);
    }
  } finally {
    await admin.disconnect();
  }
}

/** Whether `groupId` has committed, on every partition of `topic`, up to the partition's end. */
async function caughtUp(admin: Admin, namespace: string, groupId: string, topic: Topic): Promise<boolean> {
  const name = namespace + topic;
  const ends = await admin.fetchTopicOffsets(name);
  const [committed] = await admin.fetchOffsets({ groupId: namespace + groupId, topics: [name] });
  return ends.every(({ partition, high, low }) => {
    const at = Number(committed.partitions.find((p) => p.partition === partition)?.offset ?? -1);
    return Number(high) === Number(low) || at >= Number(high);
  });
}
