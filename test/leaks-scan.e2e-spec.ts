import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateKey } from '../apps/key-service/src/keys/key-format';

// dist/test → the built command, as `npm run keys:scan` runs it.
const KEYS_SCAN = resolve(__dirname, '../apps/key-service/src/leaks/scan/keys-scan.js');

function keysScan(...paths: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [KEYS_SCAN, ...paths], (error, stdout, stderr) => {
      done({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/** `npm run keys:scan` as a pre-commit hook or CI step runs it: a real process over real files. */
describe('keys:scan over a folder', () => {
  let dir: string;
  const key = generateKey('alicetan');
  const i = key.length - 10;
  const lookAlike = key.slice(0, i) + (key[i] === 'a' ? 'b' : 'a') + key.slice(i + 1);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keys-scan-e2e-'));
    await mkdir(join(dir, 'clean'));
    await mkdir(join(dir, 'leaky', 'config'), { recursive: true });
    await writeFile(
      join(dir, 'clean', 'notes.md'),
      `A look-alike: ${lookAlike}\nand a random token ghp_${'x'.repeat(36)}\n`,
    );
    await writeFile(join(dir, 'leaky', 'config', 'settings.env'), `# mail\nSMTP_HOST=mail\nKEYWARD_KEY=${key}\n`);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds a planted key: file:line, masked to its last five, exit 1', async () => {
    const { code, stdout, stderr } = await keysScan(dir);
    assert.equal(code, 1);
    assert.equal(
      stdout,
      `${join(dir, 'leaky', 'config', 'settings.env')}:3: keyward API key ending ${key.slice(-5)}\n`,
    );
    assert.match(stderr, /1 keyward API key found/);
    assert.ok(
      !stdout.includes(key.slice(0, -5)) && !stderr.includes(key.slice(0, -5)),
      'never more than the last five',
    );
  });

  it('ignores a look-alike with a bad checksum: exit 0, nothing printed', async () => {
    assert.deepEqual(await keysScan(join(dir, 'clean')), { code: 0, stdout: '', stderr: '' });
  });

  it('exits 2 for a path it cannot read, and without paths', async () => {
    const missing = await keysScan(join(dir, 'nowhere'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such file or folder/);
    assert.equal((await keysScan()).code, 2);
  });
});
