import { Mailpit, sleep } from '@keyward/testing';
import mongoose from 'mongoose';

/** What a fault scenario ends with: the emails expected against those that arrived. */
export interface LedgerResult {
  expected: number;
  /** Every email the SMTP server took, a repeat of one Message-ID included. */
  transmissions: number;
  /** Distinct emails received: distinct Message-IDs. */
  delivered: number;
  /** Expected emails, per recipient, that never arrived. */
  lost: number;
  /**
   * Transmissions beyond the expected ones, per recipient: what a recipient whose mail system does
   * not drop a repeated Message-ID sees twice. When transmissions exceed delivered, the repeat
   * carried the first one's Message-ID.
   */
  duplicated: number;
  /** From the start of the scenario (`since`) to the moment every expected email had arrived. */
  settledMs: number;
}

/**
 * Counts, per recipient, the emails a scenario expects against those in Mailpit and the delivery
 * records, once every delivery record of the scenario's events has settled (sent or failed) and
 * Mailpit holds at least one email per expected recipient, or the deadline passes. Reusable by the
 * fault suite (`npm run faults`).
 */
export async function settleDeliveries({
  mailpit,
  db,
  eventIds,
  expected,
  domain,
  since,
  timeoutMs = 60_000,
}: {
  mailpit: Mailpit;
  db: mongoose.Connection;
  eventIds: string[];
  /** One address per email expected (an address twice when it should get two). */
  expected: string[];
  /** The scenario's own email domain: every email to an address ending in it counts. */
  domain: string;
  since: number;
  timeoutMs?: number;
}): Promise<LedgerResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const arrived = await mailpit.search(`to:"${domain}"`);
    const unsettled = await db
      .collection('deliveries')
      .countDocuments({ eventId: { $in: eventIds }, status: { $nin: ['sent', 'failed'] } });
    const records = await db.collection('deliveries').countDocuments({ eventId: { $in: eventIds } });
    if ((records >= expected.length && unsettled === 0 && arrived.length >= expected.length) || Date.now() > deadline)
      break;
    await sleep(100);
  }
  const settledMs = Date.now() - since;
  return { ...(await countEmails(mailpit, domain, expected)), settledMs };
}

/** The emails to `domain` in Mailpit now, against `expected` (one address per email expected). */
export async function countEmails(
  mailpit: Mailpit,
  domain: string,
  expected: string[],
): Promise<Omit<LedgerResult, 'settledMs'>> {
  const arrived = await mailpit.search(`to:"${domain}"`);
  const want = tally(expected.map((a) => a.toLowerCase()));
  const got = tally(arrived.flatMap((m) => m.To.map((t) => t.Address.toLowerCase())));
  let lost = 0;
  let duplicated = 0;
  for (const [address, n] of want) lost += Math.max(0, n - (got.get(address) ?? 0));
  for (const [address, n] of got) duplicated += Math.max(0, n - (want.get(address) ?? 0));
  const delivered = new Set(arrived.map((m) => m.MessageID)).size;
  return { expected: expected.length, transmissions: arrived.length, delivered, lost, duplicated };
}

function tally(addresses: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const a of addresses) counts.set(a, (counts.get(a) ?? 0) + 1);
  return counts;
}

/** One scenario's line in the fault table. */
export interface LedgerRow extends LedgerResult {
  scenario: string;
  keys: number;
}

/**
 * The fault table as Markdown: scenario, keys, emails expected, SMTP transmissions, delivered
 * (distinct Message-IDs), lost, duplicated, time to settle, its columns padded as prettier pads them,
 * so the document it is written into stays formatted.
 */
export function formatLedger(rows: LedgerRow[]): string {
  const header = [
    'scenario',
    'keys',
    'emails expected',
    'SMTP transmissions',
    'delivered',
    'lost',
    'duplicated',
    'time to settle',
  ];
  const cells = rows.map((r) => [
    r.scenario,
    ...[r.keys, r.expected, r.transmissions, r.delivered, r.lost, r.duplicated].map(String),
    `${(r.settledMs / 1000).toFixed(1)} s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  // The scenario reads left-aligned, the figures right-aligned.
  const pad = (text: string, i: number) => (i === 0 ? text.padEnd(widths[i]) : text.padStart(widths[i]));
  const line = (texts: string[]) => `| ${texts.map(pad).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [line(header), rule, ...cells.map(line)].join('\n');
}
