import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isNotAKey } from '@keyward/contracts';
import { lastFiveOf } from '../../keys/key-format';

/** Anything shaped like a keyward key, not glued to more letters or digits; the checksum decides. */
const CANDIDATE = /(?<![A-Za-z0-9])[a-z0-9]+_v1_[0-9A-Za-z]{36}(?![0-9A-Za-z])/g;
/** Folders that hold no code of one's own. */
const SKIPPED_FOLDERS = new Set(['.git', 'node_modules']);

export interface FoundKey {
  file: string;
  line: number;
  /** The key's last five characters: all that is ever printed of it. */
  lastFive: string;
}

/** keyward keys in a text: the key shape with a valid checksum, so look-alikes are not reported. */
export function keysInText(text: string): { line: number; lastFive: string }[] {
  const found: { line: number; lastFive: string }[] = [];
  text.split('\n').forEach((content, index) => {
    for (const [candidate] of content.matchAll(CANDIDATE)) {
      // Every candidate has the v1 shape, so "not a key" means its checksum is wrong.
      if (!isNotAKey(candidate)) found.push({ line: index + 1, lastFive: lastFiveOf(candidate) });
    }
  });
  return found;
}

/** Scans files and folders (recursively, skipping .git and node_modules, and files with NUL bytes). */
export async function scanPaths(paths: string[]): Promise<FoundKey[]> {
  const found: FoundKey[] = [];
  for (const path of paths) await scanPath(path, found);
  return found;
}

async function scanPath(path: string, found: FoundKey[]): Promise<void> {
  const info = await stat(path);
  if (info.isDirectory()) {
    const entries = await readdir(path, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isSymbolicLink() || (entry.isDirectory() && SKIPPED_FOLDERS.has(entry.name))) continue;
      if (entry.isDirectory() || entry.isFile()) await scanPath(join(path, entry.name), found);
    }
    return;
  }
  if (!info.isFile()) return;
  const content = await readFile(path);
  if (content.includes(0)) return; // binary
  for (const key of keysInText(content.toString('utf8'))) found.push({ file: path, ...key });
}
