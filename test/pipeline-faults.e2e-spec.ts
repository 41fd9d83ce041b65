import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { formatLedger, LedgerRow } from './support/delivery-ledger';
import { PipelineRig } from './support/pipeline-rig';

/**
 * The fault scenarios that involve key-service, scheduler-service or Kafka, shortened for CI: the
 * three services against a Mailpit, a FerretDB and a Kafka of this test's own (the shared ones stay
 * up). Every scenario ends with each expected email in Mailpit exactly once. `npm run faults` runs
 * the same scenarios at length.
 */
describe('the whole pipeline through crashes and a Kafka outage', () => {
  let rig: PipelineRig;
  const ledger: LedgerRow[] = [];

  before(async () => {
    rig = await PipelineRig.start({ ownKafka: true });
  });

  after(async () => {
    if (ledger.length) console.log(formatLedger(ledger));
    await rig?.stop();
  });

  const exactlyOnce = (row: LedgerRow) => {
    ledger.push(row);
    assert.deepEqual(
      { lost: row.lost, duplicated: row.duplicated, transmissions: row.transmissions },
      { lost: 0, duplicated: 0, transmissions: row.expected },
      row.scenario,
    );
  };

  it('key-service killed (-9) mid-burst of creates and rotations: one email per committed change, no replacement left pending', async () => {
    const { stuckRotations, ...row } = await rig.keyServiceKilledMidBurst({ keys: 20, rotations: 8 });
    exactlyOnce(row);
    assert.equal(stuckRotations, 0, 'every committed rotation’s replacement is active');
  });

  it('scheduler-service killed (-9) mid-pass: every due key’s contact gets its reminder once', async () => {
    exactlyOnce(await rig.schedulerKilledMidPass({ keys: 40 }));
  });

  it('three schedulers racing over the same due keys: every contact gets its reminder once', async () => {
    exactlyOnce(await rig.schedulersRacing({ keys: 60, count: 3 }));
  });

  it('Kafka stopped while keys are created: every email once it is back', async () => {
    exactlyOnce(await rig.kafkaStopped({ keys: 10, downForMs: 20_000 }));
  });
});
