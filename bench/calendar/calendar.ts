/**
 * What listing keys in the reminder calendar costs as one minute fills up (a burst of creations
 * whose reminders fall due in the same minute), and what reading that minute back costs the
 * scheduler: LISTINGS keys listed one after another in one minute through key-service's
 * ReminderCalendar (buckets of CALENDAR_BUCKET_CAPACITY), against the previous version's one
 * document per minute (`$addToSet` on the minute's `_id`) in the same run and database server.
 *
 *   npm run bench:calendar                  (the stack must be running)
 *   LISTINGS=500 MONGO_PORT=27537 npm run bench:calendar
 */
import mongoose from 'mongoose';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { CALENDAR_MINUTE_MS, calendarMinuteId, REMINDER_CALENDAR_COLLECTION } from '@keyward/contracts';
import { stack } from '@keyward/testing';
import {
  CALENDAR_BUCKET_CAPACITY,
  ReminderCalendar,
  ReminderCalendarMinute,
  ReminderCalendarMinuteSchema,
} from '../../apps/key-service/src/keys/reminder-calendar';
import { ReminderCalendarRepository } from '../../apps/scheduler-service/src/reminders/reminder-calendar.repository';

const LISTINGS = Number(process.env.LISTINGS ?? 3_000);

/** Milliseconds per listing over a slice of the run, and the run's total in seconds. */
function summary(times: number[]): string[] {
  const mean = (from: number, to: number) =>
    (times.slice(from, to).reduce((sum, t) => sum + t, 0) / (to - from)).toFixed(2);
  const total = times.reduce((sum, t) => sum + t, 0) / 1000;
  return [
    mean(0, 100),
    mean(times.length / 2 - 50, times.length / 2 + 50),
    mean(times.length - 100, times.length),
    total.toFixed(1),
  ];
}

async function timed(listings: string[], list: (keyId: string) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (const keyId of listings) {
    const started = performance.now();
    await list(keyId);
    times.push(performance.now() - started);
  }
  return times;
}

async function main(): Promise<void> {
  const connection = await mongoose
    .createConnection(`${stack.mongoUrl}/bench-calendar-${Date.now().toString(36)}`)
    .asPromise();
  try {
    const model = connection.model(ReminderCalendarMinute.name, ReminderCalendarMinuteSchema);
    const reader = new ReminderCalendarRepository(connection);
    const keyIds = Array.from({ length: LISTINGS }, (_, i) => i.toString(16).padStart(24, '0'));
    const now = new Date('2027-01-01T00:00:00Z');
    const previousMinute = new Date('2027-01-01T10:00:00Z');
    const bucketedMinute = new Date(previousMinute.getTime() + CALENDAR_MINUTE_MS);
    const load = loadavg()[0].toFixed(1);

    // The previous version's listing, kept here as the baseline.
    const previous = await timed(keyIds, (keyId) =>
      connection
        .collection(REMINDER_CALENDAR_COLLECTION)
        .updateOne(
          { _id: calendarMinuteId(previousMinute) as never },
          { $addToSet: { keyIds: keyId } },
          { upsert: true },
        ),
    );
    const calendar = new ReminderCalendar(model);
    const bucketed = await timed(keyIds, (keyId) => calendar.list(keyId, bucketedMinute, now));

    const read = async (minute: Date) => {
      const started = performance.now();
      const found = await reader.keysDueIn(minute);
      if (found.length !== LISTINGS) throw new Error(`read ${found.length} keys of ${LISTINGS}`);
      return (performance.now() - started).toFixed(1);
    };
    console.log(`\n## calendar\n`);
    console.log(
      `${new Date().toISOString()} · ${LISTINGS} keys listed one after another in one calendar minute, against ` +
        `${stack.mongoUrl} · load average ${load} at the start, ${loadavg()[0].toFixed(1)} at the end\n`,
    );
    console.log(
      '| minute shape | ms per listing: first 100 | middle 100 | last 100 | all listings, s | scheduler reads the minute, ms |',
    );
    console.log('| --- | --- | --- | --- | --- | --- |');
    console.log(
      `| one document (previous version) | ${summary(previous).join(' | ')} | ${await read(previousMinute)} |`,
    );
    console.log(
      `| buckets of ${CALENDAR_BUCKET_CAPACITY} (${Math.ceil(LISTINGS / CALENDAR_BUCKET_CAPACITY)}) | ` +
        `${summary(bucketed).join(' | ')} | ${await read(bucketedMinute)} |`,
    );
    await connection.dropDatabase();
  } finally {
    await connection.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
