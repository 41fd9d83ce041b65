import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NotificationSettings } from '../config/notification-service.env';
import { Acceptance, AcceptanceJournal } from './acceptance-journal';

const journalIn = (dir: string) => new AcceptanceJournal({ DELIVERY_JOURNAL_DIR: dir } as NotificationSettings);
const acceptance = (n: number): Acceptance => ({
  deliveryId: `event-${n}/ops@example.com`,
  attempt: 1,
  messageId: `<event-${n}.abc@keyward>`,
  response: `250 2.0.0 Ok: queued as Q${n}`,
  acceptedAt: '2026-11-29T12:00:00.000Z',
});

describe('AcceptanceJournal', () => {
  it('gives the next process every acceptance not recorded, and nothing once it has discarded them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const first = journalIn(dir);
    assert.deepEqual(first.leftBehind.acceptances, []);
    for (const n of [1, 2, 3]) first.accepted(acceptance(n));
    first.recorded(acceptance(2));
    // Killed here: no shutdown hook runs.

    const second = journalIn(dir);
    assert.deepEqual(second.leftBehind.acceptances, [1, 2, 3].map(acceptance), 'all three, recorded or not');
    second.discardLeftBehind();
    assert.deepEqual(journalIn(dir).leftBehind.acceptances, []);
  });

  it('skips a line torn by the crash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const first = journalIn(dir);
    first.accepted(acceptance(1));
    const [segment] = readdirSync(dir);
    appendFileSync(join(dir, segment), '{"deliveryId":"event-2/ops@exa');
    assert.deepEqual(journalIn(dir).leftBehind.acceptances, [acceptance(1)]);
  });

  it('deletes a full segment once all of its acceptances are recorded, and its last one at a clean shutdown', () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const journal = journalIn(dir);
    for (let n = 0; n < 1_001; n++) journal.accepted(acceptance(n));
    assert.equal(readdirSync(dir).length, 2, 'rolled over after 1000');
    for (let n = 0; n < 1_000; n++) journal.recorded(acceptance(n));
    assert.equal(readdirSync(dir).length, 1, 'the full segment is gone');
    journal.onApplicationShutdown();
    assert.equal(readdirSync(dir).length, 1, 'kept: one acceptance is not recorded');
    const next = journalIn(dir);
    assert.deepEqual(next.leftBehind.acceptances, [acceptance(1_000)]);
    next.discardLeftBehind();
    next.accepted(acceptance(7));
    next.recorded(acceptance(7));
    next.onApplicationShutdown();
    assert.deepEqual(readdirSync(dir), []);
  });
});
