import { NestFactory } from '@nestjs/core';
import { readFile } from 'node:fs/promises';
import { LegacyFileError, parseLegacyFile } from './legacy-file';
import { LegacyImportModule } from './legacy-import.module';
import { LegacyImportService } from './legacy-import.service';

/**
 * `npm run keys:import-legacy -- file.json`: imports legacy keys from
 * `[{ "email": "...", "key"?: "...", "keyHash"?: "...", "contacts"?: ["..."] }]`.
 * Reads the same settings as key-service (MONGO_URI, KEY_HASH_SECRET, DEFAULT_TIME_ZONE).
 * Exits 1 without writing anything when the file is invalid.
 */
async function main(): Promise<void> {
  const [file] = process.argv.slice(2);
  if (!file) throw new LegacyFileError('usage: npm run keys:import-legacy -- <file.json>');
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new LegacyFileError(`cannot read ${file}: ${error.code ?? error.message}`);
  });
  const entries = parseLegacyFile(text);
  const app = await NestFactory.createApplicationContext(LegacyImportModule, { logger: ['error', 'warn', 'log'] });
  try {
    const { imported, alreadyImported, skipped } = await app.get(LegacyImportService).import(entries);
    console.log(`imported ${imported}, already imported ${alreadyImported}, skipped ${skipped.length}`);
    for (const s of skipped) console.log(`  skipped entry ${s.entry} (${s.email}): ${s.reason}`);
  } finally {
    await app.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof LegacyFileError ? error.message : error);
  process.exit(1);
});
