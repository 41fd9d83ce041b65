import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getConnectionToken, MongooseModule } from '@nestjs/mongoose';
import { Test, TestingModule } from '@nestjs/testing';
import { CalendarMinute, REMINDER_CALENDAR_COLLECTION } from '@keyward/contracts';
import { isolatedEnv } from '@keyward/testing';
import { Connection, mongo } from 'mongoose';
import { ReminderCalendarRepository } from './reminder-calendar.repository';

/** Integration: minutes as key-service writes them now and as its previous version did, on the real stand-in. */
describe('ReminderCalendarRepository (integration, real FerretDB)', () => {
  let moduleRef: TestingModule;
  let calendar: ReminderCalendarRepository;
  let minutes: mongo.Collection<CalendarMinute>;

  before(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [MongooseModule.forRoot(isolatedEnv().mongoUri('reminder-calendar'))],
      providers: [ReminderCalendarRepository],
    }).compile();
    calendar = moduleRef.get(ReminderCalendarRepository);
    minutes = moduleRef.get<Connection>(getConnectionToken()).collection<CalendarMinute>(REMINDER_CALENDAR_COLLECTION);
  });

  after(async () => {
    await moduleRef?.close();
  });

  it("reads a minute's buckets in order until one is missing, each key once, and the previous version's minutes", async () => {
    await minutes.insertMany([
      // The previous version: one document per minute, without a listings count.
      { _id: '2027-04-27T08:00Z', keyIds: ['a', 'b'] },
      // Now: bucket 0 under the minute's own id, then /1, /2; a key listed twice (a retried write).
      { _id: '2027-04-27T08:01Z', keyIds: ['c', 'd'], listings: 2 },
      { _id: '2027-04-27T08:01Z/1', keyIds: ['e', 'c'], listings: 2 },
      { _id: '2027-04-27T08:01Z/2', keyIds: ['f'], listings: 1 },
      // The next minute's, which must not be read as this one's.
      { _id: '2027-04-27T08:02Z', keyIds: ['g'], listings: 1 },
    ]);
    assert.deepEqual(await calendar.keysDueIn(new Date('2027-04-27T08:00:00Z')), ['a', 'b']);
    assert.deepEqual((await calendar.keysDueIn(new Date('2027-04-27T08:01:00Z'))).sort(), ['c', 'd', 'e', 'f']);
    assert.deepEqual(await calendar.keysDueIn(new Date('2027-04-27T07:59:00Z')), []);
  });
});
