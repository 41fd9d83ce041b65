import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DAY_MS } from '@keyward/contracts';
import { addMonths } from '../keys/validity';
import { dueReminder, firstReminderAt, nextReminderAt, parseStages, stageDueAt } from './reminder-schedule';

const STAGES = [30, 14, 7, 3, 1];
const iso = (d: Date | null | undefined) => d?.toISOString();
const before = (expiresAt: Date, days: number, extraMs = 0) => new Date(expiresAt.getTime() - days * DAY_MS + extraMs);

/** Replays a scheduler that looks at `times` in order, claiming what is due; returns what was sent. */
function replay(expiresAt: Date, createdAt: Date, times: Date[]) {
  let next: Date | null = firstReminderAt(expiresAt, STAGES, createdAt);
  const sent: number[] = [];
  const emitted: string[] = [];
  for (const t of times) {
    if (!next || next > t) continue;
    const due = dueReminder(expiresAt, STAGES, sent, t);
    if (!due) continue;
    if (due.kind === 'expired') {
      emitted.push('expired');
      next = null;
    } else {
      sent.push(due.stageDays);
      emitted.push(`${due.stageDays}d/${due.daysLeft}${due.finalReminder ? ' final' : ''}`);
      next = due.nextReminderAt;
    }
  }
  return emitted;
}

const everyMinute = (from: Date, to: Date) => {
  const times: Date[] = [];
  for (let t = from.getTime(); t <= to.getTime(); t += 60_000) times.push(new Date(t));
  return times;
};

describe('reminder schedule', () => {
  const createdAt = new Date('2026-11-27T08:00:00.000Z');
  const expiresAt = addMonths(createdAt, 6); // 2027-05-27T08:00Z

  it('first reminder of a fresh six-month key is 30 days before expiry', () => {
    assert.equal(iso(firstReminderAt(expiresAt, STAGES, createdAt)), '2027-04-27T08:00:00.000Z');
  });

  it('sends every stage once, in order, then the expiry, with a scheduler looking every minute', () => {
    const times = everyMinute(before(expiresAt, 31), new Date(expiresAt.getTime() + 10 * 60_000));
    assert.deepEqual(replay(expiresAt, createdAt, times), [
      '30d/30',
      '14d/14',
      '7d/7',
      '3d/3',
      '1d/1 final',
      'expired',
    ]);
  });

  it('counts days left rounded up, so a reminder a minute late still says the stage', () => {
    const due = dueReminder(expiresAt, STAGES, [30, 14, 7, 3], before(expiresAt, 1, 60_000));
    assert.deepEqual(due && due.kind === 'expiring' && [due.stageDays, due.daysLeft], [1, 1]);
  });

  it('skips stages already due when the key is created with less time left', () => {
    const shortCreated = before(expiresAt, 20);
    assert.equal(iso(firstReminderAt(expiresAt, STAGES, shortCreated)), iso(stageDueAt(expiresAt, 14)));
    const times = everyMinute(shortCreated, new Date(expiresAt.getTime() + 60_000));
    assert.deepEqual(replay(expiresAt, shortCreated, times), ['14d/14', '7d/7', '3d/3', '1d/1 final', 'expired']);
  });

  it('treats a stage falling due at the very moment of creation as already passed', () => {
    assert.equal(iso(firstReminderAt(expiresAt, STAGES, before(expiresAt, 30))), iso(stageDueAt(expiresAt, 14)));
  });

  it('goes straight to the expiry for a key created within the last stage', () => {
    const late = before(expiresAt, 0.5);
    assert.equal(iso(firstReminderAt(expiresAt, STAGES, late)), iso(expiresAt));
    assert.deepEqual(replay(expiresAt, late, [late, expiresAt]), ['expired']);
  });

  it('after downtime sends only the most urgent due stage, never a stale earlier one', () => {
    // Up at 30 days, then down for two weeks until 2 days before expiry: 14, 7 and 3 fell due meanwhile.
    const times = [before(expiresAt, 30), before(expiresAt, 2), before(expiresAt, 1), expiresAt];
    assert.deepEqual(replay(expiresAt, createdAt, times), ['30d/30', '3d/2', '1d/1 final', 'expired']);
  });

  it('marks a downtime catch-up as final when no stage is left before expiry', () => {
    const due = dueReminder(expiresAt, STAGES, [30], before(expiresAt, 0.25));
    assert.ok(due?.kind === 'expiring');
    assert.deepEqual(
      [due.stageDays, due.daysLeft, due.finalReminder, iso(due.nextReminderAt)],
      [1, 1, true, iso(expiresAt)],
    );
  });

  it('after downtime past the expiry sends only the expiry', () => {
    assert.deepEqual(replay(expiresAt, createdAt, [new Date(expiresAt.getTime() + 3 * DAY_MS)]), ['expired']);
  });

  it('answers nothing due before the next stage, and for a stage already sent', () => {
    assert.equal(dueReminder(expiresAt, STAGES, [], before(expiresAt, 30, -1)), null);
    assert.equal(dueReminder(expiresAt, STAGES, [30], before(expiresAt, 20)), null);
  });

  it('never goes back to a less urgent stage once a more urgent one was sent', () => {
    assert.equal(iso(nextReminderAt(expiresAt, STAGES, [7], before(expiresAt, 40))), iso(stageDueAt(expiresAt, 3)));
    assert.equal(dueReminder(expiresAt, STAGES, [7], before(expiresAt, 10)), null);
  });

  it('puts stages at exact 24-hour steps across month ends and leap days', () => {
    const feb = addMonths(new Date('2027-08-31T00:00:00.000Z'), 6); // clamps to 2028-02-29
    assert.equal(iso(feb), '2028-02-29T00:00:00.000Z');
    assert.equal(iso(stageDueAt(feb, 30)), '2028-01-30T00:00:00.000Z');
    assert.equal(iso(stageDueAt(feb, 1)), '2028-02-28T00:00:00.000Z');
    const mar = new Date('2027-03-01T00:00:00.000Z');
    assert.equal(iso(stageDueAt(mar, 1)), '2027-02-28T00:00:00.000Z');
    assert.equal(iso(stageDueAt(mar, 30)), '2027-01-30T00:00:00.000Z');
  });

  it('works the same for a legacy key with the fixed 2024 expiry', () => {
    const legacy = new Date('2024-04-21T08:00:00+08:00');
    const imported = new Date('2024-03-01T00:00:00.000Z');
    assert.equal(iso(firstReminderAt(legacy, STAGES, imported)), '2024-03-22T00:00:00.000Z');
    const times = everyMinute(new Date('2024-03-21T23:00:00.000Z'), new Date('2024-04-21T01:00:00.000Z'));
    assert.deepEqual(replay(legacy, imported, times), ['30d/30', '14d/14', '7d/7', '3d/3', '1d/1 final', 'expired']);
  });

  it('follows configured stages', () => {
    const stages = parseStages('28, 14,3,1,14');
    assert.deepEqual(stages, [28, 14, 3, 1]);
    assert.equal(iso(firstReminderAt(expiresAt, stages, createdAt)), iso(stageDueAt(expiresAt, 28)));
  });

  it('rejects a malformed stage list', () => {
    for (const bad of ['', '30,x', '0', '-1', '1.5', '400']) assert.throws(() => parseStages(bad), /whole days/);
  });
});
