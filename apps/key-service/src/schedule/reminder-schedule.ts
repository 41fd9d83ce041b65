import { DAY_MS } from '@keyward/contracts';

/**
 * When a key's reminders fall due. Pure: the same inputs always give the same answer, so every
 * writer of a key (create, rotate, the reminder claim) agrees on `nextReminderAt`.
 *
 * A stage is "N days before expiry" and falls due at exactly `expiresAt - N × 24 h`. Rules:
 * - a stage already due when the key is created (or rotated) is skipped;
 * - after downtime only the most urgent due stage is sent, never a stale earlier one;
 * - after the last stage, the next "reminder" is the expiry itself (KeyExpired).
 *
 * Writers store `nextReminderAt` on the key: call {@link firstReminderAt} when a key is created or
 * rotated (new expiry); the claim (RemindersService) uses {@link dueReminder}.
 */

/** When the stage `stageDays` falls due for a key expiring at `expiresAt`. */
export function stageDueAt(expiresAt: Date, stageDays: number): Date {
  return new Date(expiresAt.getTime() - stageDays * DAY_MS);
}

/**
 * The next time a reminder falls due strictly after `now`: the earliest stage not yet sent and
 * more urgent than every stage sent, or else the expiry itself. Returns `expiresAt` (already past)
 * when the key has expired, so its KeyExpired is due at once.
 */
export function nextReminderAt(
  expiresAt: Date,
  stagesDays: readonly number[],
  sentDays: readonly number[],
  now: Date,
): Date {
  const mostUrgentSent = Math.min(Infinity, ...sentDays);
  let next = expiresAt.getTime();
  for (const stage of stagesDays) {
    const due = stageDueAt(expiresAt, stage).getTime();
    if (stage < mostUrgentSent && due > now.getTime() && due < next) next = due;
  }
  return new Date(next);
}

/** `nextReminderAt` for a key that has sent nothing yet: on creation, and for a rotation's new key. */
export function firstReminderAt(expiresAt: Date, stagesDays: readonly number[], now: Date): Date {
  return nextReminderAt(expiresAt, stagesDays, [], now);
}

export type DueReminder =
  | {
      kind: 'expiring';
      stageDays: number;
      /** Whole days left, rounded up: 23 h 59 min before expiry is "1 day left". */
      daysLeft: number;
      /** No other stage follows before the expiry. */
      finalReminder: boolean;
      nextReminderAt: Date;
    }
  | { kind: 'expired' };

/**
 * What is due as of `asOf`, or null when nothing is: the expiry once `asOf` reaches it, else the
 * most urgent stage that has fallen due and is more urgent than every stage already sent.
 */
export function dueReminder(
  expiresAt: Date,
  stagesDays: readonly number[],
  sentDays: readonly number[],
  asOf: Date,
): DueReminder | null {
  if (asOf.getTime() >= expiresAt.getTime()) return { kind: 'expired' };
  const mostUrgentSent = Math.min(Infinity, ...sentDays);
  const due = stagesDays.filter((s) => s < mostUrgentSent && stageDueAt(expiresAt, s).getTime() <= asOf.getTime());
  if (due.length === 0) return null;
  const stageDays = Math.min(...due);
  const next = nextReminderAt(expiresAt, stagesDays, [...sentDays, stageDays], asOf);
  return {
    kind: 'expiring',
    stageDays,
    daysLeft: Math.ceil((expiresAt.getTime() - asOf.getTime()) / DAY_MS),
    finalReminder: next.getTime() === expiresAt.getTime(),
    nextReminderAt: next,
  };
}

/** Parses a stage list such as "30,14,7,3,1": positive whole days, distinct, most distant first. */
export function parseStages(text: string): number[] {
  const stages = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (stages.length === 0 || stages.some((s) => !Number.isInteger(s) || s < 1 || s > 366)) {
    throw new Error(`expected comma-separated whole days between 1 and 366, got "${text}"`);
  }
  return [...new Set(stages)].sort((a, b) => b - a);
}
