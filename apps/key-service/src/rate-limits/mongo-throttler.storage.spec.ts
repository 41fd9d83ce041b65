import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongooseModule, getModelToken } from '@nestjs/mongoose';
import { Test, TestingModule } from '@nestjs/testing';
import { Clock } from '@keyward/platform';
import { isolatedEnv } from '@keyward/testing';
import { Model } from 'mongoose';
import { MongoThrottlerStorage } from './mongo-throttler.storage';
import { RateLimitWindow, RateLimitWindowSchema } from './rate-limit-window.schema';

const MINUTE_MS = 60_000;

/** Integration: against the real MongoDB stand-in. */
describe('MongoThrottlerStorage (integration, real FerretDB)', () => {
  let now = new Date('2026-11-29T10:00:10Z');
  let moduleRef: TestingModule;
  let storage: MongoThrottlerStorage;

  before(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [
        MongooseModule.forRoot(isolatedEnv().mongoUri('throttler')),
        MongooseModule.forFeature([{ name: RateLimitWindow.name, schema: RateLimitWindowSchema }]),
      ],
      providers: [MongoThrottlerStorage, { provide: Clock, useValue: { now: () => now } }],
    }).compile();
    storage = moduleRef.get(MongoThrottlerStorage);
  });

  after(async () => {
    await moduleRef?.close();
  });

  it('counts hits per key in a fixed window and blocks past the limit until the window ends', async () => {
    const hit = () => storage.increment('k1', MINUTE_MS, 3, MINUTE_MS, 'login');
    const records = [await hit(), await hit(), await hit(), await hit()];
    assert.deepEqual(
      records.map((r) => [r.totalHits, r.isBlocked]),
      [
        [1, false],
        [2, false],
        [3, false],
        [4, true],
      ],
    );
    assert.equal(records[3].timeToBlockExpire, 50, 'seconds until the minute window ends');
    assert.equal((await storage.increment('k2', MINUTE_MS, 3, MINUTE_MS, 'login')).totalHits, 1, 'other key');
    assert.equal((await storage.increment('k1', MINUTE_MS, 3, MINUTE_MS, 'otp')).totalHits, 1, 'other limit');

    now = new Date(now.getTime() + MINUTE_MS);
    assert.deepEqual(await hit(), { totalHits: 1, isBlocked: false, timeToExpire: 50, timeToBlockExpire: 50 });
  });

  it('counts concurrent hits exactly once each', async () => {
    const records = await Promise.all(
      Array.from({ length: 10 }, () => storage.increment('burst', MINUTE_MS, 5, MINUTE_MS, 'login')),
    );
    assert.deepEqual(
      records.map((r) => r.totalHits).sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    assert.equal(records.filter((r) => r.isBlocked).length, 5);
  });

  it('sweeps past windows and keeps the live ones', async () => {
    const windows = moduleRef.get<Model<RateLimitWindow>>(getModelToken(RateLimitWindow.name));
    const before = await windows.countDocuments();
    now = new Date(now.getTime() + 2 * MINUTE_MS);
    await storage.increment('live', MINUTE_MS, 3, MINUTE_MS, 'login');
    await storage.sweep();
    assert.ok(before > 1);
    assert.deepEqual(
      (await windows.find().lean()).map((w) => w._id.split(':')[1]),
      ['live'],
    );
  });
});
