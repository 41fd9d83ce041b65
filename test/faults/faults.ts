import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { formatLedger, LedgerRow } from '../support/delivery-ledger';
import { DeliveryRig } from '../support/delivery-rig';

/**
 * `npm run faults`: runs the fault scenarios against real processes at length, prints the table
 * (scenario, keys, emails expected, delivered, lost, duplicated, time to settle) and writes it into
 * docs/RELIABILITY.md between its markers. Exits 1 when any scenario lost or duplicated an email.
 * Needs the local stack (`npm run stack:start`); the Mailpit and FerretDB it breaks are its own.
 */
const DOC = resolve(__dirname, '../../../docs/RELIABILITY.md');
const [BEGIN, END] = ['<!-- faults:begin -->', '<!-- faults:end -->'];

async function main(): Promise<void> {
  const rows: LedgerRow[] = [];
  const started = Date.now();
  // Time is driven by configuration: backoff 20–100 ms, so 20 attempts take seconds, not 8 minutes.
  const rig = await DeliveryRig.start({ giveUpAfter: '10m', retryBaseMs: 20, retryMaxMs: 100, pollMs: 50 });
  const run = async (scenario: Promise<LedgerRow>) => {
    const { scenario: name, keys, expected, delivered, lost, duplicated, settledMs } = await scenario;
    const row = { scenario: name, keys, expected, delivered, lost, duplicated, settledMs };
    console.error(`${name}: ${delivered}/${expected} delivered, ${lost} lost, ${duplicated} duplicated`);
    rows.push(row);
  };
  try {
    await run(rig.smtpOutage({ keys: 20, attemptsBeyond: 20 }));
    await run(rig.databaseDown({ keys: 30, failedAttempts: 6, downForMs: 60_000 }));
    await run(rig.databaseFrozen({ keys: 10, stallMs: 12_000 }));
    await run(rig.poisonMessage());
    await run(rig.serviceKilledMidBurst({ keys: 20 }));
  } finally {
    await rig.stop();
  }
  const table = formatLedger(rows);
  console.log(table);
  const measured =
    `${table}\n\nMeasured ${new Date().toISOString().slice(0, 16)}Z by \`npm run faults\` ` +
    `(${Math.round((Date.now() - started) / 1000)} s) on ${cpus().length} cores, load ${loadavg()[0].toFixed(1)}.`;
  const doc = readFileSync(DOC, 'utf8');
  const [head, rest] = doc.split(BEGIN);
  writeFileSync(DOC, `${head}${BEGIN}\n\n${measured}\n\n${END}${rest.split(END)[1]}`);
  if (rows.some((r) => r.lost > 0 || r.duplicated > 0)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
