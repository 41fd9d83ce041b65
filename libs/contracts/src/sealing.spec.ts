import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  buildKeyVerifyRequest,
  InvalidMessageError,
  KEY_VERIFY_MAX_AGE_MS,
  KeyVerification,
  openKeyVerification,
  openKeyVerifyRequest,
  parseSealingKeys,
  seal,
  SealingKey,
  sealKeyVerification,
  unseal,
} from './index';

const keyOf = (id: string): SealingKey => ({ id, key: randomBytes(32) });
const billing = keyOf('billing-1');
const mailer = keyOf('mailer-1');
const REQUESTS = 'keyward.key-verify.1';
const REPLIES = 'keyward.key-verify.1.reply';
const requestId = 'f47ac10b-58cc-4372-a567-0e02b2c3d479';
const otherRequestId = '9b2f1c3e-7a4d-4e8b-9c1f-2d3e4f5a6b7c';
const now = new Date('2026-11-29T10:00:00.000Z');
const later = (ms: number) => new Date(now.getTime() + ms);
const valid: KeyVerification = {
  valid: true,
  keyId: 'k1',
  owner: 'u1',
  label: 'prod',
  expiresAt: '2027-05-29T10:00:00.000Z',
};

describe('sealing with associated data', () => {
  it('opens with the same key and context, and names the key it was sealed with', () => {
    const sealed = seal('secret', billing, ['purpose', 'a']);
    assert.match(sealed, /^billing-1\./);
    assert.equal(unseal(sealed, [mailer, billing], ['purpose', 'a'], 'f'), 'secret');
  });

  it('refuses another context, an altered value, or a key it does not hold', () => {
    const sealed = seal('secret', billing, ['purpose', 'a']);
    assert.throws(() => unseal(sealed, [billing], ['purpose', 'b'], 'f'), /f: cannot be opened .* sealed for another/);
    assert.throws(() => unseal(sealed, [billing], ['purpose'], 'f'), InvalidMessageError);
    const bytes = Buffer.from(sealed.slice('billing-1.'.length), 'base64url');
    bytes[bytes.length - 1] ^= 1;
    assert.throws(() => unseal(`billing-1.${bytes.toString('base64url')}`, [billing], ['purpose', 'a'], 'f'));
    assert.throws(
      () => unseal(sealed, [mailer], ['purpose', 'a'], 'f'),
      /sealed under key billing-1, which .* not hold/,
    );
    assert.throws(
      () => unseal(sealed, [{ id: 'billing-1', key: mailer.key }], ['purpose', 'a'], 'f'),
      InvalidMessageError,
      'the right id with the wrong key',
    );
  });

  it('parses caller keys and refuses bad ones without echoing them', () => {
    const text = `billing-1:${billing.key.toString('base64')}, billing-2:${mailer.key.toString('base64url')}`;
    assert.deepEqual(
      parseSealingKeys(text).map((k) => k.id),
      ['billing-1', 'billing-2'],
    );
    const short = randomBytes(16).toString('base64');
    assert.throws(
      () => parseSealingKeys(`billing-1:${short}`),
      (e: Error) => !e.message.includes(short),
    );
    assert.throws(() => parseSealingKeys(`no key`), /entry 0/);
    assert.throws(
      () => parseSealingKeys(`a:${billing.key.toString('base64')},a:${billing.key.toString('base64')}`),
      /twice/,
    );
  });
});

describe('key verification over Kafka', () => {
  const request = buildKeyVerifyRequest('alice_v1_key', { topic: REQUESTS, requestId, callerKey: billing, now });
  const at = { topic: REQUESTS, correlationId: requestId, callers: [billing, mailer], now: later(100) };

  it('opens a request with the caller key it names, and seals the answer for that caller and request alone', () => {
    const opened = openKeyVerifyRequest(request, at);
    assert.equal(opened.key, 'alice_v1_key');
    assert.equal(opened.callerKey.id, 'billing-1');
    assert.ok(!JSON.stringify(request).includes('alice_v1_key'));
    const reply = sealKeyVerification(valid, {
      topic: REPLIES,
      requestId,
      callerKey: opened.callerKey,
      now: later(200),
    });
    assert.ok(!JSON.stringify(reply).includes('prod'), 'the answer is not readable on the wire');
    assert.deepEqual(
      openKeyVerification(reply, { topic: REPLIES, requestId, callerKeys: [billing], now: later(300) }),
      valid,
    );
  });

  it('refuses a request from a key id key-service does not hold, or read by another caller', () => {
    assert.throws(() => openKeyVerifyRequest(request, { ...at, callers: [mailer] }), /does not hold/);
    assert.throws(() => unseal(request.sealedKey, [mailer], [], 'sealedKey'), /does not hold/, 'mailer cannot read it');
  });

  it('refuses a request moved to another topic or correlation id, a stale one, or the unbound version 1', () => {
    assert.throws(
      () => openKeyVerifyRequest(request, { ...at, topic: 'test.x.keyward.key-verify.1' }),
      /another message/,
    );
    assert.throws(() => openKeyVerifyRequest(request, { ...at, correlationId: otherRequestId }), /correlation id/);
    assert.throws(
      () => openKeyVerifyRequest({ ...request, requestId: otherRequestId }, { ...at, correlationId: otherRequestId }),
      /another message/,
    );
    assert.throws(() => openKeyVerifyRequest(request, { ...at, now: later(KEY_VERIFY_MAX_AGE_MS + 1) }), /older than/);
    assert.throws(() => openKeyVerifyRequest({ version: 1, sealedKey: request.sealedKey }, at), /only version 2/);
  });

  it('drops a forged reply, one with tampered associated data, one replayed to another request, or an expired one', () => {
    const reply = sealKeyVerification(valid, { topic: REPLIES, requestId, callerKey: billing, now });
    const open = (data: unknown, fields: Partial<{ topic: string; requestId: string; now: Date }> = {}) =>
      openKeyVerification(data, { topic: REPLIES, requestId, callerKeys: [billing], now: later(100), ...fields });
    const forged = sealKeyVerification(valid, { topic: REPLIES, requestId, callerKey: keyOf('billing-1'), now });
    assert.throws(() => open(forged), /another message/, 'sealed by someone without the caller key');
    assert.throws(() => open(valid), InvalidMessageError, 'an answer in clear');
    assert.throws(() => open({ ...reply, repliedAt: later(50).toISOString() }), /another message/, 'time altered');
    assert.throws(() => open(reply, { requestId: otherRequestId }), /another message/, 'replayed to another request');
    assert.throws(() => open(reply, { topic: REQUESTS }), /another message/, 'moved to another topic');
    assert.throws(() => open(reply, { now: later(KEY_VERIFY_MAX_AGE_MS + 1) }), /older than/, 'expired');
    assert.throws(
      () => openKeyVerification(reply, { topic: REPLIES, requestId, callerKeys: [mailer], now: later(100) }),
      /does not hold/,
      'another caller cannot read it',
    );
  });
});
