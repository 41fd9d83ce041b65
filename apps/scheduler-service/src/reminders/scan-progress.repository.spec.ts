import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongooseModule } from '@nestjs/mongoose';
import { Test, TestingModule } from '@nestjs/testing';
import { isolatedEnv } from '@keyward/testing';
import { ScanProgressRepository } from './scan-progress.repository';

/** Integration: against the real MongoDB stand-in. */
describe('ScanProgressRepository (integration, real FerretDB)', () => {
  let moduleRef: TestingModule;
  let progress: ScanProgressRepository;

  before(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [MongooseModule.forRoot(isolatedEnv().mongoUri('scan-progress'))],
      providers: [ScanProgressRepository],
    }).compile();
    progress = moduleRef.get(ScanProgressRepository);
  });

  after(async () => {
    await moduleRef?.close();
  });

  it('starts empty, moves the calendar only forwards, and takes a full scan as it is', async () => {
    assert.equal(await progress.read(), null);
    await progress.recordCalendarRead(new Date('2027-04-27T08:00:00Z'));
    assert.deepEqual(await progress.read(), { calendarReadTo: new Date('2027-04-27T08:00:00Z') });
    await progress.recordCalendarRead(new Date('2027-04-27T07:59:00Z'));
    await progress.recordFullScan({
      fullScanAt: new Date('2027-04-27T08:30:10Z'),
      calendarReadTo: new Date('2027-04-27T08:29:00Z'),
    });
    await progress.recordCalendarRead(new Date('2027-04-27T08:28:00Z'));
    assert.deepEqual(await progress.read(), {
      fullScanAt: new Date('2027-04-27T08:30:10Z'),
      calendarReadTo: new Date('2027-04-27T08:29:00Z'),
    });
    // A clock that went back: the next full scan says where the calendar is read from.
    await progress.recordFullScan({
      fullScanAt: new Date('2027-04-20T00:00:10Z'),
      calendarReadTo: new Date('2027-04-19T23:59:00Z'),
    });
    assert.equal((await progress.read())?.calendarReadTo.toISOString(), '2027-04-19T23:59:00.000Z');
  });
});
