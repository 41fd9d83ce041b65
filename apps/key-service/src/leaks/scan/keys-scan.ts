import { scanPaths } from './key-scanner';

/**
 * `npm run keys:scan -- PATH…`: reports keyward keys in files and folders as `file:line`, each key
 * masked to its last five characters. Exits 1 when it finds one (so a pre-commit hook or a CI
 * step fails), 2 when a path cannot be read, 0 otherwise.
 */
async function main(): Promise<number> {
  const paths = process.argv.slice(2);
  if (paths.length === 0) {
    console.error('usage: npm run keys:scan -- PATH…');
    return 2;
  }
  const found = await scanPaths(paths);
  for (const { file, line, lastFive } of found) console.log(`${file}:${line}: keyward API key ending ${lastFive}`);
  if (found.length === 0) return 0;
  console.error(
    `${found.length} keyward API key${found.length === 1 ? '' : 's'} found: revoke or rotate ${found.length === 1 ? 'it' : 'them'} in Settings and remove ${found.length === 1 ? 'it' : 'them'} from these files`,
  );
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error: NodeJS.ErrnoException) => {
    console.error(`keys:scan: ${error.code === 'ENOENT' ? `no such file or folder: ${error.path}` : error.message}`);
    process.exit(2);
  },
);
