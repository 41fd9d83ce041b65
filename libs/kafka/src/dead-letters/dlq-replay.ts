import { parseArgs } from 'node:util';
import { NestFactory } from '@nestjs/core';
import { parseSigningKey } from '@keyward/contracts';
import { DeadLetter, DeadLetters } from './dead-letters';
import { DeadLettersModule, ReplaySettings } from './dead-letters.module';

const USAGE = `usage: npm run dlq:replay -- list
       npm run dlq:replay -- inspect <offset> [--partition <n>]
       npm run dlq:replay -- replay (--all | --from <offset> --to <offset>) [--partition <n>] [--sign-key-events]
Reads KAFKA_BROKERS and KAFKA_TOPIC_NAMESPACE as the services do. A replay puts each letter back
at the end of the topic it came from; consumers dedupe, so a second replay emails nobody again.
--sign-key-events signs unsigned key events (letters from before key events were signed) with
KEY_EVENTS_SIGNING_KEY: inspect them first, as signing says they came from key-service.`;

class UsageError extends Error {}

/**
 * `npm run dlq:replay`: lists and inspects the dead-letter topic, then replays letters (all, or an
 * offset range) to their original topics.
 */
async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      partition: { type: 'string', default: '0' },
      from: { type: 'string' },
      to: { type: 'string' },
      all: { type: 'boolean', default: false },
      'sign-key-events': { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  const [command, offsetArg] = positionals;
  if (!['list', 'inspect', 'replay'].includes(command)) throw new UsageError(USAGE);
  const app = await NestFactory.createApplicationContext(DeadLettersModule, { logger: ['error', 'warn'] });
  try {
    await run(app.get(DeadLetters), command, offsetArg, values, app.get(ReplaySettings).KEY_EVENTS_SIGNING_KEY);
  } finally {
    await app.close();
  }
}

async function run(
  deadLetters: DeadLetters,
  command: string | undefined,
  offsetArg: string | undefined,
  values: { partition?: string; from?: string; to?: string; all?: boolean; 'sign-key-events'?: boolean },
  signingKey: string | undefined,
): Promise<void> {
  const partition = Number(values.partition);

  if (command === 'list') {
    const letters = await deadLetters.read();
    for (const l of letters) console.log(summary(l));
    console.log(`${letters.length} dead letters on ${deadLetters.topic}`);
  } else if (command === 'inspect' && offsetArg) {
    const letter = (await deadLetters.read()).find((l) => l.partition === partition && l.offset === offsetArg);
    if (!letter) throw new UsageError(`no dead letter at ${partition}@${offsetArg}`);
    console.log(summary(letter));
    for (const [name, value] of Object.entries(letter.headers)) console.log(`  ${name}: ${value?.toString()}`);
    console.log(letter.value.toString());
  } else if (command === 'replay' && (values.all || (values.from && values.to))) {
    const [from, to] = [BigInt(values.from ?? 0), BigInt(values.to ?? 0)];
    const chosen = (await deadLetters.read()).filter(
      (l) => values.all || (l.partition === partition && BigInt(l.offset) >= from && BigInt(l.offset) <= to),
    );
    if (values['sign-key-events'] && !signingKey)
      throw new UsageError('--sign-key-events needs KEY_EVENTS_SIGNING_KEY');
    await deadLetters.replay(chosen, values['sign-key-events'] ? parseSigningKey(signingKey!) : undefined);
    for (const l of chosen) console.log(`replayed ${summary(l)}`);
    console.log(`replayed ${chosen.length} dead letters`);
  } else {
    throw new UsageError(USAGE);
  }
}

function summary(l: DeadLetter): string {
  const at = new Date(Number(l.timestamp)).toISOString();
  return `${l.partition}@${l.offset}  ${at}  from ${l.sourceTopic}[${l.sourcePartition}]@${l.sourceOffset}  by ${l.consumer}  key ${l.key?.toString() ?? '-'}  ${l.reason}`;
}

main().catch((error: unknown) => {
  console.error(error instanceof UsageError ? error.message : error);
  process.exit(1);
});
