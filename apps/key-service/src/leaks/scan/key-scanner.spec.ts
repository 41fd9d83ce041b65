import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey } from '../../keys/key-format';
import { keysInText, scanPaths } from './key-scanner';

/** The same key with one character of its random part changed: the checksum no longer matches. */
const lookAlike = (key: string) => key.slice(0, 15) + (key[15] === 'A' ? 'B' : 'A') + key.slice(16);

describe('keys:scan', () => {
  it('finds keys by shape and checksum, wherever they sit on a line', () => {
    const key = generateKey('alicetan');
    const other = generateKey('bob');
    const text = [
      'no key here',
      `KEYWARD_KEY=${key}`,
      `{"a": "${other}", "b": "${lookAlike(key)}"}`,
      `prefix_${key}`,
      `glued${key}`,
    ].join('\n');
    assert.deepEqual(keysInText(text), [
      { line: 2, lastFive: key.slice(-5) },
      { line: 3, lastFive: other.slice(-5) },
      { line: 4, lastFive: key.slice(-5) },
    ]);
  });

  it('ignores look-alikes: a bad checksum, another version, a longer secret', () => {
    const key = generateKey('alicetan');
    const text = [lookAlike(key), key.replace('_v1_', '_v2_'), `${key}x`, key.toUpperCase()].join('\n');
    assert.deepEqual(keysInText(text), []);
  });

  it('walks folders, skipping .git, node_modules and binary files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keys-scan-'));
    try {
      const key = generateKey('alicetan');
      await mkdir(join(dir, 'src'));
      await mkdir(join(dir, 'node_modules'));
      await mkdir(join(dir, '.git'));
      await writeFile(join(dir, 'src', 'config.ts'), `// settings\nexport const key = '${key}';\n`);
      await writeFile(join(dir, 'node_modules', 'x.js'), key);
      await writeFile(join(dir, '.git', 'ORIG'), key);
      await writeFile(join(dir, 'image.bin'), Buffer.concat([Buffer.from([0]), Buffer.from(key)]));
      assert.deepEqual(await scanPaths([dir]), [
        { file: join(dir, 'src', 'config.ts'), line: 2, lastFive: key.slice(-5) },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
