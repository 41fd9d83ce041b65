import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

/** The build the tests run from (dist/ or $KEYWARD_DIST): the tools run from the same one. */
const DIST = resolve(__dirname, '../..');

const TOOLS = {
  'deliveries:redrive': 'apps/notification-service/src/deliveries/redrive/redrive-deliveries.js',
  'dlq:replay': 'libs/kafka/src/dead-letters/dlq-replay.js',
} as const;

/**
 * Runs an operator command (what `npm run <tool> -- args` runs) against a test's settings, as an
 * operator would; resolves with what it printed, rejects with its output when it fails.
 */
export async function runTool(tool: keyof typeof TOOLS, args: string[], env: Record<string, string>): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [resolve(DIST, TOOLS[tool]), ...args], {
    // The tools read the services' settings, which refuse the development secrets outside test.
    env: { PATH: process.env.PATH, NODE_ENV: 'test', ...env },
    timeout: 60_000,
  });
  return stdout;
}
