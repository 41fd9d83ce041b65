import mongoose from 'mongoose';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NestFactory } from '@nestjs/core';
import { dumpDatabases, isolatedEnv, readNamespaceTopics, ServiceProcess, stack } from '@keyward/testing';
import { parseLegacyFile } from '../apps/key-service/src/legacy/legacy-file';
import { LegacyImportService } from '../apps/key-service/src/legacy/legacy-import.service';
import { loggedInUser } from './support/accounts';
import { call } from './support/http';
import { InProcessKeyService } from './support/key-services';
import { TestClock } from './support/schedulers';

const HASH_SECRET = `e2e-legacy-${randomBytes(16).toString('hex')}`;
const hashOf = (key: string) => createHmac('sha256', HASH_SECRET).update(key).digest('base64url');
const legacyKey = () => `legacy_${randomBytes(18).toString('base64url')}`;
const COMMAND = resolve(__dirname, '../apps/key-service/src/legacy/import-legacy.js');
const SERVICE_TOKEN = `e2e-legacy-verify-${randomBytes(16).toString('hex')}`;

/** `npm run keys:import-legacy -- file.json`, run from the same build as the services. */
describe('legacy key import', () => {
  const { id: testId, env, mongoUri, emailDomain } = isolatedEnv();
  const mail = (name: string) => `${name}@${emailDomain}`;
  const [aliceKey, bobKey, carolKey, aliceSecondKey] = [legacyKey(), legacyKey(), legacyKey(), legacyKey()];
  const outputs: string[] = [];
  let keyService: ServiceProcess;
  let db: mongoose.Connection;
  let dir: string;
  let aliceToken: string;

  async function importFile(content: unknown): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const file = join(dir, `${randomBytes(4).toString('hex')}.json`);
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
    const child = spawn(process.execPath, [COMMAND, file], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        MONGO_URI: mongoUri('keys'),
        KEY_HASH_SECRET: HASH_SECRET,
        KAFKA_BROKERS: stack.kafkaBrokers,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((done) => child.on('close', done));
    outputs.push(stdout, stderr);
    return { code, stdout, stderr };
  }

  const keys = () => db.collection('keys').find().sort({ 'owner.email': 1 }).toArray();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyward-legacy-'));
    keyService = await ServiceProcess.start('key-service', {
      ...env,
      MONGO_URI: mongoUri('keys'),
      KEY_HASH_SECRET: HASH_SECRET,
      VERIFY_SERVICE_TOKENS: SERVICE_TOKEN,
    });
    aliceToken = await loggedInUser(mongoUri('keys'), mail('alice'));
    db = await mongoose.createConnection(mongoUri('keys')).asPromise();
  });

  after(async () => {
    await keyService?.stop();
    await db?.close();
  });

  it('imports keys and hashes as label default, last five *****, the fixed expiry, creating owners as needed', async () => {
    const result = await importFile([
      { email: mail('Alice'), key: aliceKey, contacts: [mail('Ops'), ` ${mail('ops')}`] },
      { email: mail('bob'), keyHash: hashOf(bobKey) },
      { email: mail('carol'), key: carolKey, keyHash: hashOf(carolKey) },
      { email: mail('alice'), key: aliceSecondKey },
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /imported 3, already imported 0, skipped 1/);
    assert.match(result.stdout, /skipped entry 3 .*already has another key labelled "default"/);

    const stored = await keys();
    assert.deepEqual(
      stored.map((k) => k.owner.email),
      [mail('alice'), mail('bob'), mail('carol')],
    );
    assert.deepEqual(
      stored.map((k) => k.hash),
      [hashOf(aliceKey), hashOf(bobKey), hashOf(carolKey)],
    );
    for (const key of stored) {
      assert.equal(key.label, 'default');
      assert.equal(key.lastFive, '*****');
      assert.equal(key.legacy, true);
      assert.equal(key.expiresAt.toISOString(), '2024-04-21T00:00:00.000Z');
      assert.equal(key.status, 'expired', 'imported after the legacy expiry');
      assert.deepEqual(key.outbox, [], 'no event: these keys are not new');
      assert.equal(key.outboxAt, null);
    }
    assert.deepEqual(stored[0].contacts, [mail('ops')]);
    assert.deepEqual(stored[1].contacts, []);

    const users = await db.collection('users').find().sort({ email: 1 }).toArray();
    assert.deepEqual(
      users.map((u) => [u.email, u.username, u.timeZone]),
      [
        [mail('alice'), 'alice', 'Asia/Singapore'],
        [mail('bob'), 'bob', 'Asia/Singapore'],
        [mail('carol'), 'carol', 'Asia/Singapore'],
      ],
    );
    assert.equal(String(stored[0].owner.userId), String(users[0]._id), 'the existing account owns it');
  });

  it('shows an imported key in its owner’s list as label default, last five *****, expired', async () => {
    const res = await call<Record<string, unknown>[]>(keyService.url, aliceToken, 'GET', '/v1/keys');
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 1);
    const [key] = res.body;
    assert.equal(key.label, 'default');
    assert.equal(key.lastFive, '*****');
    assert.equal(key.status, 'expired');
    assert.equal(key.expiresAt, '2024-04-21T00:00:00.000Z');
    assert.deepEqual(key.contacts, [mail('ops')]);
  });

  it('imports nothing twice when run again', async () => {
    const before = await keys();
    const result = await importFile([
      { email: mail('alice'), key: aliceKey },
      { email: mail('bob'), key: bobKey },
      { email: mail('carol'), keyHash: hashOf(carolKey) },
      { email: mail('alice'), key: aliceSecondKey },
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /imported 0, already imported 3, skipped 1/);
    assert.deepEqual(await keys(), before);
    assert.equal(await db.collection('users').countDocuments(), 3);
  });

  it('rejects an invalid file as a whole, naming the entry and field, writing nothing', async () => {
    const countKeys = await db.collection('keys').countDocuments();
    const cases: [unknown, RegExp][] = [
      [
        [
          { email: mail('dave'), key: legacyKey() },
          { email: 'not-an-email', key: legacyKey() },
        ],
        /1\.email/,
      ],
      [[{ email: mail('dave') }], /0\.key: give the key or its keyHash/],
      [[{ email: mail('dave'), keyHash: 'short' }], /0\.keyHash/],
      [
        [{ email: mail('dave'), key: legacyKey(), keyHash: hashOf(legacyKey()) }],
        /entries 0 give a key and a keyHash that do not match/,
      ],
      [`[{"email": "${mail('dave')}", "key": "${legacyKey()}"`, /not valid JSON/],
    ];
    for (const [content, reason] of cases) {
      const result = await importFile(content);
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stderr, reason);
    }
    assert.equal(await db.collection('keys').countDocuments(), countKeys);
    assert.equal(await db.collection('users').countDocuments({ email: mail('dave') }), 0);
  });

  const verify = async (baseUrl: string, key: string) => {
    const res = await fetch(`${baseUrl}/v1/keys/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-service-token': SERVICE_TOKEN },
      body: JSON.stringify({ key }),
    });
    assert.equal(res.status, 200);
    return res.json();
  };

  it('verifies a key imported after the legacy expiry as expired, given as key or as hash (no checksum short-cut)', async () => {
    assert.deepEqual(await verify(keyService.url, aliceKey), { valid: false, reason: 'expired' });
    assert.deepEqual(await verify(keyService.url, bobKey), { valid: false, reason: 'expired' });
    assert.deepEqual(await verify(keyService.url, legacyKey()), { valid: false, reason: 'unknown' });
  });

  it('verifies a key imported before the legacy expiry as valid, then as expired once that date passes', async () => {
    // key-service and the import in this process, on a clock standing before the fixed 2024 expiry.
    const clock = new TestClock(new Date('2024-03-01T00:00:00Z'));
    const settings = { ...env, MONGO_URI: mongoUri('keys'), KEY_HASH_SECRET: HASH_SECRET };
    InProcessKeyService.configure({ ...settings, VERIFY_SERVICE_TOKENS: SERVICE_TOKEN, LOG_LEVEL: 'warn' });
    const erinKey = legacyKey();
    // Loaded only now: its configuration is read from process.env when the module is first loaded.
    const { LegacyImportModule } = await import('../apps/key-service/src/legacy/legacy-import.module');
    const importer = await NestFactory.createApplicationContext(LegacyImportModule, { logger: ['error', 'warn'] });
    try {
      const entries = parseLegacyFile(JSON.stringify([{ email: mail('erin'), key: erinKey }]));
      assert.equal((await importer.get(LegacyImportService).import(entries, clock.now())).imported, 1);
    } finally {
      await importer.close();
    }
    const erin = await db.collection('keys').findOne({ 'owner.email': mail('erin') });
    const inProcess = await InProcessKeyService.start(clock);
    try {
      assert.deepEqual(await verify(inProcess.url, erinKey), {
        valid: true,
        keyId: String(erin?._id),
        owner: String(erin?.owner.userId),
        label: 'default',
        expiresAt: '2024-04-21T00:00:00.000Z',
      });
      clock.set(Date.parse('2024-04-21T00:00:00Z'));
      assert.deepEqual(await verify(inProcess.url, erinKey), { valid: false, reason: 'expired' }, 'not from the cache');
    } finally {
      await inProcess.stop();
    }
    assert.deepEqual(await verify(keyService.url, erinKey), { valid: false, reason: 'expired' }, 'on today’s clock');
  });

  it('never stores, prints, logs or publishes a plain legacy key', async () => {
    const documents = await dumpDatabases(`kw_${testId}_`);
    const messages = await readNamespaceTopics(env.KAFKA_TOPIC_NAMESPACE);
    const log = await readFile(keyService.logFile, 'utf8');
    assert.ok(
      documents.some((d) => d.text.includes(hashOf(aliceKey))),
      'the search finds stored values',
    );
    const ids = (await keys()).map((k) => String(k._id));
    for (const m of messages) for (const id of ids) assert.ok(!m.text.includes(id), 'no event for an imported key');
    for (const key of [aliceKey, bobKey, carolKey, aliceSecondKey]) {
      for (const d of documents) assert.ok(!d.text.includes(key), `stored in ${d.where}`);
      for (const out of outputs) assert.ok(!out.includes(key), 'printed by the import');
      assert.ok(!log.includes(key));
    }
  });
});
