import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongooseModule } from '@nestjs/mongoose';
import { Test, TestingModule } from '@nestjs/testing';
import { isolatedEnv } from '@keyward/testing';
import { ActivityEntry, ActivityEntrySchema } from './activity-entry.schema';
import { ActivityRepository } from './activity.repository';

/** Integration: against the real MongoDB stand-in. */
describe('ActivityRepository (integration, real FerretDB)', () => {
  let moduleRef: TestingModule;
  let activity: ActivityRepository;

  before(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [
        MongooseModule.forRoot(isolatedEnv().mongoUri('activity-repository')),
        MongooseModule.forFeature([{ name: ActivityEntry.name, schema: ActivityEntrySchema }]),
      ],
      providers: [ActivityRepository],
    }).compile();
    activity = moduleRef.get(ActivityRepository);
  });

  after(async () => {
    await moduleRef?.close();
  });

  const entry = (eventId: string, minute: number): ActivityEntry => ({
    _id: eventId,
    ownerId: 'owner-1',
    keyId: 'key-1',
    at: new Date(Date.UTC(2027, 4, 26, 8, minute)),
    action: 'created',
    label: 'ci',
    lastFive: 'abcde',
    actor: 'user',
    actorName: 'owner@example.com',
    from: null,
    details: { minute },
  });

  it('records a batch at once, and a redelivered batch adds only the entries it did not have', async () => {
    await activity.record([entry('e1', 1), entry('e2', 2)]);
    // Redelivered: e1 and e2 again (e2 changed, which must not overwrite it), with e3 and e4 new,
    // in more entries than one insert carries.
    const many = Array.from({ length: 60 }, (_, i) => entry(`m${i}`, 10 + (i % 40)));
    await activity.record([entry('e2', 59), entry('e3', 3), entry('e1', 1), entry('e4', 4), ...many]);
    const stored = await activity.allOf('owner-1');
    assert.equal(stored.length, 4 + many.length, 'each entry once');
    assert.deepEqual(
      stored.filter((e) => e._id.startsWith('e')).map((e) => [e._id, e.details.minute]),
      [
        ['e4', 4],
        ['e3', 3],
        ['e2', 2],
        ['e1', 1],
      ],
    );
  });
});
