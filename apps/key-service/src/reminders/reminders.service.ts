import { Injectable, Logger } from '@nestjs/common';
import { KEYS_COLLECTION, RecordReminderDue, Topic } from '@keyward/contracts';
import { Clock } from '@keyward/platform';
import { KeyServiceSettings } from '../config/key-service.env';
import { keyExpired, keyExpiring } from '../key-events/key-events';
import { KeyStatus } from '../keys/key.schema';
import { OutboxRelayService } from '../outbox/outbox-relay.service';
import { outboxEntry } from '../outbox/outbox';
import { OutboxEntry } from '../outbox/outbox-entry.schema';
import { KeysRepository, ReminderClaim, ReminderView } from '../keys/keys.repository';
import { dueReminder, nextReminderAt } from '../schedule/reminder-schedule';

/** Claims lost to concurrent writers before giving up; the scheduler's next pass asks again. */
const MAX_ATTEMPTS = 5;

export type ReminderOutcome = 'expiring' | 'expired' | 'closed' | 'not-due' | 'missing';

/**
 * Records reminder stages and expiries that the scheduler found due. Each is claimed by one
 * conditional write (KeysRepository.claimReminder), so however often a command arrives —
 * redelivered, or from several schedulers — each stage and each expiry is emitted once; and its
 * event id is derived from what it is, so even two winning writes would reach contacts once.
 *
 * "Due" is judged as of the command's time, not this process's clock: the scheduler is the
 * service that watches time, and tests move its clock. The topic is internal to keyward.
 */
@Injectable()
export class RemindersService {
  private readonly logger = new Logger(RemindersService.name);
  private readonly stages: number[];

  constructor(
    private readonly keys: KeysRepository,
    private readonly relay: OutboxRelayService,
    private readonly clock: Clock,
    settings: KeyServiceSettings,
  ) {
    this.stages = settings.REMINDER_STAGES_DAYS;
  }

  async recordDue(command: Pick<RecordReminderDue, 'keyId' | 'asOf'>): Promise<ReminderOutcome> {
    // The command says when the scheduler looked, but anyone who can write the topic can send one:
    // never a time later than this process's own, so a command from "the future" expires nothing.
    const asOf = new Date(Math.min(Date.parse(command.asOf), this.clock.now().getTime()));
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const key = await this.keys.findForReminder(command.keyId);
      if (!key) {
        this.logger.warn({ keyId: command.keyId }, 'reminder due for a key that does not exist; skipped');
        return 'missing';
      }
      if (key.status !== KeyStatus.Active || !key.nextReminderAt || key.nextReminderAt > asOf) return 'not-due';
      const [outcome, claim, events] = this.decide(key, asOf);
      // The outbox is timed by this process's clock: the relay publishes what waits as of its now.
      if (await this.keys.claimReminder(key, claim, events, this.clock.now())) {
        if (events.length > 0) this.relay.nudge(KEYS_COLLECTION, key._id);
        this.logger.log({ keyId: command.keyId, outcome, stageDays: claim.sentStage }, 'reminder recorded');
        return outcome;
      }
    }
    throw new Error(`key ${command.keyId} kept changing while its reminder was being recorded`);
  }

  private decide(key: ReminderView, asOf: Date): [ReminderOutcome, ReminderClaim, OutboxEntry[]] {
    const keyId = key._id.toHexString();
    const expired = asOf >= key.expiresAt;
    // A rotated-out key's last email was KeyRotated: at its grace period's end it only closes.
    if (key.rotatedTo) {
      return expired
        ? ['closed', { nextReminderAt: null, status: KeyStatus.Expired }, []]
        : ['not-due', { nextReminderAt: key.expiresAt }, []];
    }
    const due = dueReminder(key.expiresAt, this.stages, key.remindersSent ?? [], asOf);
    if (!due) {
      // nextReminderAt was set under other stages (configuration changed): just move it on.
      const next = nextReminderAt(key.expiresAt, this.stages, key.remindersSent ?? [], asOf);
      return ['not-due', { nextReminderAt: next }, []];
    }
    if (due.kind === 'expired') {
      const event = keyExpired(keyId, key, asOf);
      return ['expired', { nextReminderAt: null, status: KeyStatus.Expired }, [outboxEntry(Topic.KeyEvents, event)]];
    }
    const event = keyExpiring(keyId, key, due, asOf);
    return [
      'expiring',
      { nextReminderAt: due.nextReminderAt, sentStage: due.stageDays },
      [outboxEntry(Topic.KeyEvents, event)],
    ];
  }
}
