import { join, resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { z } from 'zod';
import { settingDocs } from '@keyward/settings';
import { keyServiceEnv } from '../../apps/key-service/src/config/key-service.env';
import { notificationServiceEnv } from '../../apps/notification-service/src/config/notification-service.env';
import { schedulerServiceEnv } from '../../apps/scheduler-service/src/config/scheduler-service.env';

/** The README, from the build (`<dist>/tools/docs`) or the sources. */
export const README_FILE = join(resolve(__dirname, '../../..'), 'README.md');

const SERVICES: Record<string, z.ZodTypeAny> = {
  'key-service': keyServiceEnv,
  'notification-service': notificationServiceEnv,
  'scheduler-service': schedulerServiceEnv,
};

const START =
  "<!-- settings: generated from the services' schemas by `npm run docs:settings`; edit those, not this -->";
const END = '<!-- end of settings -->';

interface Row {
  services: string[];
  /** Each description (or default) with the services that give it. */
  descriptions: Map<string, string[]>;
  defaults: Map<string, string[]>;
}

const add = (values: Map<string, string[]>, value: string, service: string) =>
  values.set(value, [...(values.get(value) ?? []), service]);

/** Every setting of every service, in the order the schemas declare them. */
export function settingRows(): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (const [service, schema] of Object.entries(SERVICES)) {
    for (const [name, doc] of settingDocs(schema)) {
      const row: Row = rows.get(name) ?? { services: [], descriptions: new Map(), defaults: new Map() };
      row.services.push(service);
      if (doc.description) add(row.descriptions, doc.description, service);
      add(row.defaults, doc.default, service);
      rows.set(name, row);
    }
  }
  return rows;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The settings table, as markdown: setting, default (per service where they differ), who reads it, what it does. */
export function settingsTable(): string {
  const all = Object.keys(SERVICES).length;
  const lines = ['| setting | default | used by | what it does |', '| --- | --- | --- | --- |'];
  const perService = (values: Map<string, string[]>) =>
    [...values].map(([value, services]) => (values.size === 1 ? value : `${services.join(', ')}: ${value}`)).join('; ');
  for (const [name, { services, descriptions, defaults }] of settingRows()) {
    const usedBy = services.length === all ? 'all' : services.join(', ');
    lines.push(`| \`${name}\` | ${cell(perService(defaults))} | ${usedBy} | ${cell(perService(descriptions))} |`);
  }
  return lines.join('\n');
}

/** The README with its settings table regenerated, formatted as `npm run format` would. */
export async function readmeWithSettings(readme: string): Promise<string> {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no settings table between ${START} and ${END}`);
  const regenerated = `${readme.slice(0, start)}${START}\n\n${settingsTable()}\n\n${readme.slice(end)}`;
  return format(regenerated, { ...(await resolveConfig(README_FILE)), parser: 'markdown' });
}
