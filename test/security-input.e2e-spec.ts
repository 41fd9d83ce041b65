import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort, isolatedEnv, ServiceProcess } from '@keyward/testing';
import { loggedInUser } from './support/accounts';

const SERVICE_TOKEN = 'security-input-e2e-token-0123456789abcdef';

interface Problem {
  status: number;
  detail: string;
  errors?: { field: string; message: string }[];
}

/** A JSON text of `bytes` characters: one object with as many unknown properties as fit. */
function manyUnknownProperties(bytes: number): string {
  const props: string[] = [];
  let size = 2;
  for (let i = 0; size < bytes - 20; i++) {
    const prop = `"prop${i}":"${'v'.repeat(8)}"`;
    props.push(prop);
    size += prop.length + 1;
  }
  return `{${props.join(',')}}`;
}

const deeplyNested = (field: string, depth: number) => `{"${field}":${'['.repeat(depth)}${']'.repeat(depth)}}`;

/**
 * Hostile input against the running key-service: oversized, non-JSON, deep or unknown-laden bodies,
 * labels that hide text, emails the events would refuse, and key ids in other spellings. Each is
 * refused with a small problem-details answer, never a 500.
 */
describe('hostile input', () => {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  let keyService: ServiceProcess;
  let internalUrl: string;
  let token: string;

  async function send(
    path: string,
    body: string | undefined,
    {
      method = 'POST',
      type = 'application/json',
      baseUrl = keyService.url,
      headers = {} as Record<string, string>,
    } = {},
  ): Promise<{ status: number; type: string; text: string; problem: Problem }> {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'x-service-token': SERVICE_TOKEN,
        ...(body !== undefined ? { 'content-type': type } : {}),
        ...headers,
      },
      body,
    });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      text,
      problem: (text ? JSON.parse(text) : {}) as Problem,
    };
  }

  const json = (path: string, body: unknown, options?: Parameters<typeof send>[2]) =>
    send(path, JSON.stringify(body), options);

  /** A refusal as problem details, small whatever was sent (10 field errors at most). */
  function assertRefused(res: Awaited<ReturnType<typeof send>>, status: number, what: string): Problem {
    assert.equal(res.status, status, `${what}: ${res.text.slice(0, 300)}`);
    assert.match(res.type, /application\/problem\+json/, what);
    assert.ok(res.text.length < 4096, `${what}: a small answer, got ${res.text.length} bytes`);
    return res.problem;
  }

  function assertFields(res: Awaited<ReturnType<typeof send>>, fields: string[], what: string): void {
    const problem = assertRefused(res, 400, what);
    assert.deepEqual(
      problem.errors?.map((e) => e.field),
      fields,
      `${what}: ${res.text}`,
    );
  }

  before(async () => {
    const internalPort = await freePort();
    internalUrl = `http://127.0.0.1:${internalPort}`;
    keyService = await ServiceProcess.start('key-service', {
      ...env,
      MONGO_URI: mongoUri('keys'),
      VERIFY_SERVICE_TOKENS: SERVICE_TOKEN,
      VERIFY_HTTP_PORT: String(internalPort),
    });
    token = await loggedInUser(mongoUri('keys'), `eve@${emailDomain}`);
  });

  after(async () => {
    await keyService?.stop();
  });

  it('refuses bodies over the route limit with 413 before reading them: 4 KB for login, 16 KB for keys, 1 KB to verify', async () => {
    const big = manyUnknownProperties(200 * 1024);
    assertRefused(await send('/v1/auth/otp', big), 413, 'otp, 200 KB');
    assertRefused(await send('/v1/auth/login', manyUnknownProperties(5 * 1024)), 413, 'login, 5 KB');
    assertRefused(await send('/v1/keys', big), 413, 'keys, 200 KB');
    assertRefused(await send('/v1/keys', manyUnknownProperties(17 * 1024)), 413, 'keys, 17 KB');
    for (const baseUrl of [keyService.url, internalUrl])
      assertRefused(
        await send('/v1/keys/verify', manyUnknownProperties(2 * 1024), { baseUrl }),
        413,
        `verify ${baseUrl}`,
      );
  });

  it('takes only application/json: forms (login CSRF from another site) and text are 415', async () => {
    const form = `email=eve%40${emailDomain}&otp=123456`;
    for (const path of ['/v1/auth/otp', '/v1/auth/login', '/v1/keys'])
      assertRefused(await send(path, form, { type: 'application/x-www-form-urlencoded' }), 415, `form to ${path}`);
    assertRefused(
      await send('/v1/auth/login', 'x='.padEnd(1024 * 1024, 'a'), { type: 'application/x-www-form-urlencoded' }),
      415,
      '1 MB form to login',
    );
    assertRefused(
      await send('/v1/auth/otp', `{"email":"eve@${emailDomain}"}`, { type: 'text/plain' }),
      415,
      'text/plain',
    );
    assertRefused(await send('/v1/auth/otp', 'email=x', { type: 'multipart/form-data; boundary=x' }), 415, 'multipart');
    for (const baseUrl of [keyService.url, internalUrl])
      assertRefused(
        await send('/v1/keys/verify', 'key=abc', { baseUrl, type: 'application/x-www-form-urlencoded' }),
        415,
        `form to verify ${baseUrl}`,
      );
  });

  it('refuses deep nesting and piles of properties with 400 before parsing, never 500', async () => {
    assertRefused(await send('/v1/auth/otp', deeplyNested('email', 1500)), 400, 'otp nested 1500 deep');
    assertRefused(await send('/v1/keys', deeplyNested('contacts', 7000)), 400, 'keys nested 7000 deep');
    assertRefused(await send('/v1/keys', manyUnknownProperties(15 * 1024)), 400, '15 KB of unknown properties');
    for (const baseUrl of [keyService.url, internalUrl])
      assertRefused(
        await send('/v1/keys/verify', deeplyNested('key', 400), { baseUrl }),
        400,
        `verify nested ${baseUrl}`,
      );
  });

  it('answers unknown fields and bad values with at most 10 field errors that do not echo the body', async () => {
    const body: Record<string, unknown> = { label: 'x'.repeat(500), contacts: Array(40).fill(7) };
    for (let i = 0; i < 40; i++) body[`unknown${'u'.repeat(200)}${i}`] = i;
    const res = await json('/v1/keys', body);
    const problem = assertRefused(res, 400, 'keys with 40 unknown fields');
    assert.ok((problem.errors?.length ?? 0) <= 10, res.text);
    assert.ok(!res.text.includes('x'.repeat(100)), 'the label is not echoed');
    assert.ok(
      problem.errors?.some((e) => /and 39 more unknown fields/.test(e.message)),
      res.text,
    );
  });

  it('refuses labels with bidi, zero-width or control characters with 400 naming the label', async () => {
    const contacts = [`ops@${emailDomain}`];
    for (const [name, label] of [
      ['right-to-left override', 'invoice\u202Efdp.exe'],
      ['zero-width space', 'pro\u200Bd'],
      ['left-to-right isolate', 'a\u2066b\u2069'],
      ['line separator', 'a\u2028b'],
      ['escape', 'a\u001Bb'],
    ]) {
      const res = await json('/v1/keys', { label, contacts });
      assertFields(res, ['label'], name);
      assert.match(res.problem.errors?.[0].message ?? '', /printable/, name);
    }
    const created = await json('/v1/keys', { label: 'Prod – 東京 🚀', contacts });
    assert.equal(created.status, 201, created.text);
    const { id } = JSON.parse(created.text) as { id: string };
    assertFields(await json(`/v1/keys/${id}/rotate`, { graceHours: 0, label: 'new\u202Elabel' }), ['label'], 'rotate');
  });

  it('refuses emails the events would refuse, the same way on every route (never a 500)', async () => {
    for (const email of ['ü@x.com', 'ops#1@x.com']) {
      assertFields(await json('/v1/auth/otp', { email }), ['email'], `otp ${email}`);
      assertFields(await json('/v1/auth/login', { email, otp: '123456' }), ['email'], `login ${email}`);
      assertFields(await json('/v1/keys', { label: `l-${email}`, contacts: [email] }), ['contacts'], `create ${email}`);
    }
    const created = await json('/v1/keys', { label: 'contacts', contacts: [`ops@${emailDomain}`] });
    const { id } = JSON.parse(created.text) as { id: string };
    assertFields(
      await json(`/v1/keys/${id}/contacts`, { contacts: ['ü@x.com'] }, { method: 'PUT' }),
      ['contacts'],
      'replace contacts',
    );
  });

  it('answers 404 for a key id in any but its canonical spelling', async () => {
    const created = await json('/v1/keys', { label: 'canonical', contacts: [`ops@${emailDomain}`] });
    const { id } = JSON.parse(created.text) as { id: string };
    assert.equal((await send(`/v1/keys/${id}`, undefined, { method: 'GET' })).status, 200);
    for (const other of [id.toUpperCase(), `${id}0`, id.slice(1), 'zzzzzzzzzzzzzzzzzzzzzzzz']) {
      assertRefused(await send(`/v1/keys/${other}`, undefined, { method: 'GET' }), 404, `GET ${other}`);
      assertRefused(await send(`/v1/keys/${other}`, undefined, { method: 'DELETE' }), 404, `DELETE ${other}`);
      assertRefused(await json(`/v1/keys/${other}/rotate`, { graceHours: 0 }), 404, `rotate ${other}`);
      const contacts = { contacts: [`a@${emailDomain}`] };
      assertRefused(await json(`/v1/keys/${other}/contacts`, contacts, { method: 'PUT' }), 404, `contacts ${other}`);
    }
    const after = JSON.parse((await send(`/v1/keys/${id}`, undefined, { method: 'GET' })).text) as { status: string };
    assert.equal(after.status, 'active', 'nothing done to the key under another spelling of its id');
  });

  it('describes the request bodies in the OpenAPI document, unknown fields refused', async () => {
    const doc = (await (await fetch(`${keyService.url}/docs-json`)).json()) as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: Record<string, unknown> }> } }>
      >;
    };
    const schemaOf = (path: string, method: string) =>
      doc.paths[path][method].requestBody?.content['application/json'].schema as {
        additionalProperties: boolean;
        required: string[];
        properties: Record<string, { pattern?: string; maxLength?: number }>;
      };
    const create = schemaOf('/v1/keys', 'post');
    assert.equal(create.additionalProperties, false);
    assert.deepEqual(create.required.sort(), ['contacts', 'label']);
    assert.equal(create.properties.label.maxLength, 64);
    assert.equal(schemaOf('/v1/auth/login', 'post').additionalProperties, false);
    assert.deepEqual(schemaOf('/v1/keys/{id}/rotate', 'post').required, ['graceHours']);
    assert.deepEqual(schemaOf('/v1/keys/verify', 'post').required, ['key']);
  });
});
