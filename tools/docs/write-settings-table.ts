import { readFileSync, writeFileSync } from 'node:fs';
import { README_FILE, readmeWithSettings } from './settings-table';

// npm run docs:settings
void readmeWithSettings(readFileSync(README_FILE, 'utf8')).then((readme) => {
  writeFileSync(README_FILE, readme);
  console.log(`wrote the settings table of ${README_FILE}`);
});
