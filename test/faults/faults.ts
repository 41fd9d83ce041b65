import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { formatLedger, LedgerRow } from '../support/delivery-ledger';
import { DeliveryRig } from '../support/delivery-rig';
import { PipelineRig } from '../support/pipeline-rig';

/**
 * `npm run faults`: runs the fault scenarios against real processes at length, prints the table
 * (scenario, keys, emails expected, SMTP transmissions, delivered, lost, duplicated, time to settle)
 * and writes it into docs/RELIABILITY.md between its markers. Exits 1 when any scenario lost or
 * duplicated an email. `npm run faults -- killed` runs only the scenarios whose name contains
 * `killed`, and leaves the document alone. Needs the local stack (`npm run stack:start`); the
 * Mailpit, FerretDB and Kafka it breaks are its own.
 */
const DOC = resolve(__dirname, '../../../docs/RELIABILITY.md');
const [BEGIN, END] = ['<!-- faults:begin -->', '<!-- faults:end -->'];

async function main(): Promise<void> {
  const only = process.argv[2];
  const rows: LedgerRow[] = [];
  const started = Date.now();
  const run = async (name: string, scenario: () => Promise<LedgerRow>) => {
    if (only && !name.includes(only)) return;
    const row = await scenario();
    const { expected, transmissions, delivered, lost, duplicated } = row;
    console.error(
      `${row.scenario}: ${delivered}/${expected} delivered in ${transmissions} transmissions, ${lost} lost, ${duplicated} duplicated`,
    );
    rows.push(row);
  };
  const wanted = (...names: string[]) => !only || names.some((n) => n.includes(only));

  if (wanted('smtp-outage', 'database-down', 'database-frozen', 'poison', 'notification-service-killed')) {
    // Time is driven by configuration: backoff 20–100 ms, so 20 attempts take seconds, not 8 minutes.
    const rig = await DeliveryRig.start({ giveUpAfter: '10m', retryBaseMs: 20, retryMaxMs: 100, pollMs: 50 });
    try {
      await run('smtp-outage', () => rig.smtpOutage({ keys: 20, attemptsBeyond: 20 }));
      await run('database-down', () => rig.databaseDown({ keys: 30, failedAttempts: 6, downForMs: 60_000 }));
      await run('database-frozen', () => rig.databaseFrozen({ keys: 10, stallMs: 12_000 }));
      await run('poison', () => rig.poisonMessage());
      await run('notification-service-killed', () => rig.serviceKilledMidBurst({ keys: 20 }));
    } finally {
      await rig.stop();
    }
  }
  if (wanted('key-service-killed', 'scheduler-killed', 'schedulers-racing', 'kafka-stopped')) {
    // All three services, on a Kafka of the rig's own that the Kafka scenario stops.
    const rig = await PipelineRig.start({ ownKafka: true });
    try {
      await run('key-service-killed', async () => {
        const { stuckRotations, ...row } = await rig.keyServiceKilledMidBurst({ keys: 60, rotations: 20 });
        console.error(`key-service killed: ${stuckRotations} replacements of committed rotations left pending`);
        if (stuckRotations > 0) process.exitCode = 1;
        return row;
      });
      await run('scheduler-killed', () => rig.schedulerKilledMidPass({ keys: 100 }));
      await run('schedulers-racing', () => rig.schedulersRacing({ keys: 200, count: 3 }));
      await run('kafka-stopped', () => rig.kafkaStopped({ keys: 30, downForMs: 30_000 }));
    } finally {
      await rig.stop();
    }
  }
  const table = formatLedger(rows);
  console.log(table);
  if (rows.some((r) => r.lost > 0 || r.duplicated > 0)) process.exitCode = 1;
  if (only) return;
  const measured =
    `${table}\n\nMeasured ${new Date().toISOString().slice(0, 16)}Z by \`npm run faults\` ` +
    `(${Math.round((Date.now() - started) / 1000)} s) on ${cpus().length} cores, load ${loadavg()[0].toFixed(1)}.`;
  const doc = readFileSync(DOC, 'utf8');
  const [head, rest] = doc.split(BEGIN);
  writeFileSync(DOC, `${head}${BEGIN}\n\n${measured}\n\n${END}${rest.split(END)[1]}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
