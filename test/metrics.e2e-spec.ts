import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort, isolatedEnv, Mailpit, ServiceProcess, sleep } from '@keyward/testing';
import { loggedInUser } from './support/accounts';
import { call } from './support/http';

/** The value of one series of a Prometheus text body: the sum over series whose labels include `labels`. */
function sample(body: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const [, series, text, value] of body.matchAll(/^(\w+)(?:\{(.*)\})? (\S+)$/gm)) {
    if (series !== name) continue;
    const have = Object.fromEntries([...(text ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) {
      total += Number(value);
      found = true;
    }
  }
  return found ? total : NaN;
}

async function scrape(service: ServiceProcess): Promise<string> {
  const res = await fetch(`${service.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** Polls `service`'s metrics until `ready` holds for them, or fails after `ms`. */
async function metricsUntil(service: ServiceProcess, ready: (body: string) => boolean, what: string, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const body = await scrape(service);
    if (ready(body)) return body;
    if (Date.now() > deadline) assert.fail(`${service.name}: ${what} within ${ms} ms; metrics were:\n${body}`);
    await sleep(200);
  }
}

describe('metrics at GET /metrics of every service', () => {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const serviceToken = 'metrics-e2e-service-token-of-enough-length';
  const mailpit = new Mailpit();
  let keys: ServiceProcess;
  let notifications: ServiceProcess;
  let scheduler: ServiceProcess;
  let token: string;
  /** key-service's internal verification listener, which runs in a worker thread with metrics of its own. */
  let internalUrl: string;

  before(async () => {
    const internalPort = await freePort();
    internalUrl = `http://127.0.0.1:${internalPort}`;
    [keys, notifications, scheduler] = await Promise.all([
      ServiceProcess.start('key-service', {
        ...env,
        MONGO_URI: mongoUri('keys'),
        VERIFY_SERVICE_TOKENS: serviceToken,
        VERIFY_HTTP_PORT: String(internalPort),
      }),
      ServiceProcess.start('notification-service', { ...env, MONGO_URI: mongoUri('notifications') }),
      ServiceProcess.start('scheduler-service', {
        ...env,
        MONGO_URI: mongoUri('keys'),
        REMINDER_SCAN_CRON: '* * * * * *',
      }),
    ]);
    token = await loggedInUser(mongoUri('keys'), `metrics@${emailDomain}`);
  });

  after(async () => {
    await Promise.all([keys?.stop(), notifications?.stop(), scheduler?.stop()]);
  });

  it('a created key moves the HTTP, outbox, Kafka and delivery metrics', async () => {
    const keyEvents = { topic: `${env.KAFKA_TOPIC_NAMESPACE}keyward.key-events.1` };
    const before = await scrape(keys);
    assert.ok(
      Number.isNaN(sample(before, 'keyward_kafka_messages_published_total', keyEvents)),
      'nothing published yet',
    );
    assert.equal(sample(before, 'keyward_outbox_backlog'), 0);
    assert.equal(sample(before, 'keyward_outbox_oldest_age_seconds'), 0);
    assert.ok(sample(before, 'process_resident_memory_bytes') > 0, "Node's process metrics");
    assert.ok(sample(before, 'process_start_time_seconds') > 0, 'merged with the worker’s, kept as they are');

    const contact = `ops@${emailDomain}`;
    const created = await call(keys.url, token, 'POST', '/v1/keys', { label: 'metrics', contacts: [contact] });
    assert.equal(created.status, 201);

    const after = await metricsUntil(
      keys,
      (body) => sample(body, 'keyward_kafka_messages_published_total', keyEvents) === 1,
      'KeyCreated counted as published',
    );
    const posted = { method: 'POST', route: '/v1/keys', status: '201' };
    assert.equal(sample(after, 'keyward_http_request_duration_seconds_count', posted), 1);
    assert.equal(sample(after, 'keyward_outbox_backlog'), 0, 'the outbox is empty again');

    await mailpit.waitFor(contact, 1);
    await metricsUntil(
      notifications,
      (body) =>
        sample(body, 'keyward_delivery_attempts_total', { outcome: 'sent' }) === 1 &&
        sample(body, 'keyward_kafka_consumer_lag', keyEvents) === 0,
      'one delivery sent and the key-events consumer caught up',
    );
    const deliveries = await scrape(notifications);
    assert.equal(sample(deliveries, 'keyward_delivery_retry_queue'), 0);
    assert.ok(Number.isNaN(sample(deliveries, 'keyward_kafka_dead_letters_total')), 'nothing dead-lettered');
  });

  it('counts verifications by result and cache, and times them, on both listeners', async () => {
    const { body: key } = await call<{ id: string; key: string }>(keys.url, token, 'POST', '/v1/keys', {
      label: 'verified',
      contacts: [`dev@${emailDomain}`],
    });
    const verify = (text: string, baseUrl = keys.url) =>
      fetch(`${baseUrl}/v1/keys/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-service-token': serviceToken },
        body: JSON.stringify({ key: text }),
      }).then((res) => res.json() as Promise<{ valid: boolean }>);
    // Cached as it was created here, so both verifications are hits; text no key was issued for
    // (long enough to be looked up) is a miss, and noise costs no lookup at all.
    assert.equal((await verify(key.key)).valid, true);
    assert.equal((await verify(key.key)).valid, true);
    assert.equal((await verify('never-issued-key-text-0123456789')).valid, false);
    assert.equal((await verify('not-a-key')).valid, false);

    const body = await scrape(keys);
    assert.equal(sample(body, 'keyward_verifications_total', { result: 'valid', cache: 'hit' }), 2);
    assert.equal(sample(body, 'keyward_verifications_total', { result: 'unknown', cache: 'miss' }), 1);
    assert.equal(sample(body, 'keyward_verifications_total', { result: 'unknown', cache: 'not_a_key' }), 1);
    assert.equal(sample(body, 'keyward_verification_duration_seconds_count', { cache: 'miss' }), 1);
    const route = { method: 'POST', route: '/v1/keys/verify', status: '200' };
    assert.equal(sample(body, 'keyward_http_request_duration_seconds_count', route), 4);

    // The internal listener's verifications are counted in its worker and merged into the same series.
    assert.equal((await verify('never-issued-key-text-9876543210', internalUrl)).valid, false);
    for (let i = 0; i < 3; i++) assert.equal((await verify(`not-a-key-${i}`, internalUrl)).valid, false);
    const merged = await scrape(keys);
    assert.equal(sample(merged, 'keyward_verifications_total', { result: 'unknown', cache: 'miss' }), 2);
    assert.equal(sample(merged, 'keyward_verifications_total', { result: 'unknown', cache: 'not_a_key' }), 4);
    assert.equal(sample(merged, 'keyward_verifications_total', { result: 'valid', cache: 'hit' }), 2);
    assert.equal(sample(merged, 'keyward_verification_duration_seconds_count', { cache: 'miss' }), 2);
    assert.equal(
      sample(merged, 'keyward_http_request_duration_seconds_count', route),
      4,
      'the worker’s are not HTTP-timed',
    );
    assert.equal(
      sample(merged, 'keyward_internal_verify_answers_total', { status: '200' }),
      4,
      'the worker counts its own',
    );
  });

  it('times every reminder scan pass and counts the keys it found due', async () => {
    const body = await metricsUntil(
      scheduler,
      (text) => sample(text, 'keyward_reminder_scan_duration_seconds_count') >= 2,
      'two scan passes',
    );
    assert.equal(sample(body, 'keyward_reminder_scan_failures_total'), 0);
    assert.equal(sample(body, 'keyward_reminder_scan_last_keys_due'), 0, 'no key is near its expiry');
    assert.ok(sample(body, 'keyward_reminder_scan_duration_seconds_sum') > 0);
  });
});
