import { NestFactory } from '@nestjs/core';
import { DeliveriesRepository } from '../deliveries.repository';
import { parseRedriveOptions, RedriveUsageError } from './redrive-options';
import { RedriveModule } from './redrive.module';

/**
 * `npm run deliveries:redrive -- …`: lists failed deliveries matching the filters and puts them back
 * to pending, due now, with a fresh give-up window; the running notification-service sends them.
 * Reads notification-service's settings (MONGO_URI). Safe to run twice: only deliveries still
 * failed change, and a sent delivery is never touched, so nobody gets an email twice.
 */
async function main(): Promise<void> {
  const { filter, dryRun } = parseRedriveOptions(process.argv.slice(2));
  const app = await NestFactory.createApplicationContext(RedriveModule, { logger: ['error', 'warn'] });
  try {
    const repository = app.get(DeliveriesRepository);
    const failed = await repository.failed(filter);
    for (const d of failed) {
      console.log(`${d.createdAt.toISOString()}  ${d.eventType}  ${d.eventId}  ${d.recipient}  ${d.error ?? ''}`);
    }
    if (dryRun) {
      console.log(`${failed.length} failed deliveries match; nothing changed (--dry-run)`);
      return;
    }
    const redriven = await repository.redrive(
      failed.map((d) => d._id),
      new Date(),
    );
    console.log(`re-drove ${redriven} of ${failed.length} matching failed deliveries`);
  } finally {
    await app.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof RedriveUsageError ? error.message : error);
  process.exit(1);
});
