import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { README_FILE, readmeWithSettings, settingRows } from './settings-table';

describe("README's settings table", () => {
  it('is what the schemas generate (run `npm run docs:settings` after changing a setting)', async () => {
    const readme = readFileSync(README_FILE, 'utf8');
    assert.equal(readme, await readmeWithSettings(readme), 'the settings table in README.md is out of date');
  });

  it('describes every setting of every service', () => {
    const rows = settingRows();
    const undescribed = [...rows]
      .filter(([, row]) => [...row.descriptions.values()].flat().length < row.services.length)
      .map(([name]) => name);
    assert.deepEqual(undescribed, [], 'settings some service does not .describe() in its schema');
    for (const name of ['NODE_ENV', 'SESSION_COOKIE_SECURE', 'OUTBOX_POLL_MS', 'VERIFY_FAILURES_PER_MINUTE'])
      assert.ok(rows.has(name), name);
  });
});
