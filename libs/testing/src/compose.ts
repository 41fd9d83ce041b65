import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

// dist/libs/testing/src → the repository.
const REPO = resolve(__dirname, '../../../..');

/**
 * The environment a service of docker-compose.yml starts with on a machine that sets nothing:
 * the image's `ENV` (Dockerfile, last stage) under the service's compose `environment`, with
 * `${NAME:-default}` taking its default. Specs pass it to the service's own config validation so
 * the compose file cannot drift from what the services require.
 */
export function composeEnvironment(service: string): Record<string, string> {
  const compose = parse(readFileSync(join(REPO, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { environment?: Record<string, unknown> | string[] }>;
  };
  const definition = compose.services[service];
  if (!definition) throw new Error(`docker-compose.yml has no service ${service}`);
  const entries = Array.isArray(definition.environment)
    ? definition.environment.map((line) => line.split(/=(.*)/s, 2) as [string, string])
    : Object.entries(definition.environment ?? {});
  return {
    ...imageEnvironment(),
    ...Object.fromEntries(entries.map(([name, value]) => [name, interpolate(String(value ?? ''))])),
  };
}

/** `ENV` settings of the Dockerfile's last stage (the image the services run in). */
function imageEnvironment(): Record<string, string> {
  const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const lastStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const [, settings] of lastStage.matchAll(/^ENV\s+(.+)$/gm)) {
    for (const [, name, quoted, bare] of settings.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|(\S*))/g)) {
      env[name] = quoted ?? bare;
    }
  }
  return env;
}

/** Compose's variable substitution as seen with nothing set: `${NAME:-default}` gives the default. */
function interpolate(value: string): string {
  return value.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g,
    (_match, _name, fallback?: string) => fallback ?? '',
  );
}
