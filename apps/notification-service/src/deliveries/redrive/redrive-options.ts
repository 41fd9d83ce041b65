import { parseArgs } from 'node:util';
import { z } from 'zod';
import { RedriveFilter } from '../deliveries.repository';

export class RedriveUsageError extends Error {}

export interface RedriveOptions {
  filter: RedriveFilter;
  /** List what would be re-driven, change nothing. */
  dryRun: boolean;
}

export const REDRIVE_USAGE = `usage: npm run deliveries:redrive -- [--event <eventId>] [--recipient <email>]
         [--since <ISO time>] [--until <ISO time>] [--all-failed] [--dry-run]
Puts failed deliveries back to pending with a fresh give-up window; notification-service sends them.
Without --event, --recipient, --since or --until, --all-failed is required.`;

const isoTime = z
  .string()
  .datetime({ offset: true })
  .transform((s) => new Date(s));

const schema = z
  .object({
    event: z.string().uuid('--event: expected an eventId (UUID)').optional(),
    recipient: z.string().email('--recipient: expected an email address').optional(),
    since: isoTime.optional(),
    until: isoTime.optional(),
    'all-failed': z.boolean().default(false),
    'dry-run': z.boolean().default(false),
  })
  .refine((o) => o['all-failed'] || o.event || o.recipient || o.since || o.until, {
    message: 'name the deliveries to re-drive (--event, --recipient, --since, --until) or pass --all-failed',
  })
  .refine((o) => !o.since || !o.until || o.since < o.until, { message: '--since must be before --until' });

/** Reads the command line of `npm run deliveries:redrive`; throws RedriveUsageError naming what is wrong. */
export function parseRedriveOptions(argv: string[]): RedriveOptions {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        event: { type: 'string' },
        recipient: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        'all-failed': { type: 'boolean' },
        'dry-run': { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new RedriveUsageError(`${(error as Error).message}\n${REDRIVE_USAGE}`);
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    throw new RedriveUsageError(`${parsed.error.issues.map((i) => i.message).join('; ')}\n${REDRIVE_USAGE}`);
  }
  const o = parsed.data;
  return {
    filter: { eventId: o.event, recipient: o.recipient, since: o.since, until: o.until },
    dryRun: o['dry-run'],
  };
}
