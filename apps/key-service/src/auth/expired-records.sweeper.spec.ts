import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongooseModule, getModelToken } from '@nestjs/mongoose';
import { Test, TestingModule } from '@nestjs/testing';
import { Clock } from '@keyward/platform';
import { isolatedEnv } from '@keyward/testing';
import { Model } from 'mongoose';
import { ExpiredRecordsSweeper } from './expired-records.sweeper';
import { LoginCode, LoginCodeSchema } from './login-code.schema';
import { Session, SessionSchema } from './session.schema';

/** Integration: against the real MongoDB stand-in. */
describe('ExpiredRecordsSweeper (integration, real stack)', () => {
  const now = new Date('2026-11-27T03:00:00Z');
  const past = new Date(now.getTime() - 1000);
  const future = new Date(now.getTime() + 60_000);
  let moduleRef: TestingModule;

  before(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [
        MongooseModule.forRoot(isolatedEnv().mongoUri('sweeper')),
        MongooseModule.forFeature([
          { name: Session.name, schema: SessionSchema },
          { name: LoginCode.name, schema: LoginCodeSchema },
        ]),
      ],
      providers: [ExpiredRecordsSweeper, { provide: Clock, useValue: { now: () => now } }],
    }).compile();
  });

  after(async () => {
    await moduleRef?.close();
  });

  it('deletes expired sessions and spent codes, and keeps the rest', async () => {
    const sessions = moduleRef.get<Model<Session>>(getModelToken(Session.name));
    const codes = moduleRef.get<Model<LoginCode>>(getModelToken(LoginCode.name));
    await sessions.create([
      { _id: 'old', userId: 'u', createdAt: past, expiresAt: past },
      { _id: 'live', userId: 'u', createdAt: past, expiresAt: future },
    ]);
    const pending = { eventId: 'e', topic: 'keyward.login-codes.1', key: 'k', value: '{}' };
    await codes.create([
      { _id: 'spent@x.io', codeHash: null, expiresAt: past, createdAt: past, outbox: [] },
      { _id: 'unsent@x.io', codeHash: 'h', expiresAt: past, createdAt: past, outbox: [pending], outboxAt: past },
      { _id: 'live@x.io', codeHash: 'h', expiresAt: future, createdAt: past, outbox: [] },
    ]);

    await moduleRef.get(ExpiredRecordsSweeper).sweep();

    assert.deepEqual(
      (await sessions.find().lean()).map((d) => d._id),
      ['live'],
    );
    assert.deepEqual(
      (await codes.find().sort({ _id: 1 }).lean()).map((d) => d._id),
      ['live@x.io', 'unsent@x.io'],
    );
  });
});
