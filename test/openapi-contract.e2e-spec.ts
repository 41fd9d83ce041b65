import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isolatedEnv, Mailpit, ServiceProcess } from '@keyward/testing';

const REPO = resolve(__dirname, '../..');
/** Test cases per operation and phase: enough to reach every status, within about a minute. */
const MAX_EXAMPLES = 15;
const SERVICE_TOKEN = 'contract-test-service-token-0123456789abcdef';
/**
 * Operations that can end the fuzzer's own session (it finds the session's id in the list): fuzzed
 * last, on a session of their own, so they do not leave every other operation answering 401.
 */
const ENDING_THE_SESSION = ['DELETE /v1/account/sessions/{id}', 'DELETE /v1/account'];

interface HarEntry {
  request: { method: string; url: string };
  response: { status: number };
}

/** Names a request by the document's path it falls under ("POST /v1/keys/{id}/rotate"), the most specific first. */
function operationNamer(paths: string[]): (request: HarEntry['request']) => string {
  const templates = paths
    .map((path) => ({
      path,
      pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      variables: path.split('{').length,
    }))
    .sort((a, b) => a.variables - b.variables);
  return ({ method, url }) => {
    const { pathname } = new URL(url);
    return `${method} ${templates.find(({ pattern }) => pattern.test(pathname))?.path ?? pathname}`;
  };
}

/**
 * The OpenAPI document drives the running key-service: Schemathesis generates requests from it,
 * valid and invalid, across operations and in sequences (create, then rotate the key it made…), also
 * methods the document does not list, signed in through the real login flow. It fails on any 5xx,
 * any status the document does not list for the operation, any response that does not match its
 * schema, a request the document allows that is refused (or one it forbids that is accepted), and a
 * 405 without the right Allow.
 */
describe('the OpenAPI document, as a contract the running service keeps', () => {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const mailpit = new Mailpit();
  const reportDir = mkdtempSync(join(tmpdir(), 'keyward-contract-'));
  let keyService: ServiceProcess;
  let notificationService: ServiceProcess;
  let sessionToken: string;
  /** For the operations ending the session: signed in up front, as the fuzzer spends this client's sign-in budget. */
  let lastSessionToken: string;

  before(async () => {
    [keyService, notificationService] = await Promise.all([
      ServiceProcess.start('key-service', {
        ...env,
        MONGO_URI: mongoUri('keys'),
        // Room for the fuzzer's changes, so the key routes answer more than 429.
        KEY_CHANGES_PER_HOUR: '10000',
        VERIFY_SERVICE_TOKENS: SERVICE_TOKEN,
        LEAK_REPORTER_TOKENS: SERVICE_TOKEN,
      }),
      ServiceProcess.start('notification-service', { ...env, MONGO_URI: mongoUri('notifications') }),
    ]);
    sessionToken = await logIn(`contract@${emailDomain}`);
    lastSessionToken = await logIn(`contract.last@${emailDomain}`);
  });

  after(async () => {
    await Promise.all([keyService?.stop(), notificationService?.stop()]);
    rmSync(reportDir, { recursive: true, force: true });
  });

  async function logIn(email: string): Promise<string> {
    const post = (path: string, body: unknown) =>
      fetch(`${keyService.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.equal((await post('/v1/auth/otp', { email })).status, 204);
    const [message] = await mailpit.waitFor(email);
    const otp = /\b(\d{6})\b/.exec(message.Text)?.[1];
    assert.ok(otp, 'a sign-in code in the email');
    const login = await post('/v1/auth/login', { email, otp });
    assert.equal(login.status, 200);
    return ((await login.json()) as { token: string }).token;
  }

  /** Runs Schemathesis on the operations `filter` selects (`--include-name …`), signed in as `session`. */
  function fuzz(session: string, filter: string[]): Promise<{ code: number; output: string }> {
    return new Promise((done) => {
      execFile(
        'bash',
        [
          join(REPO, 'tools/schemathesis.sh'),
          '--config-file',
          join(REPO, 'test/support/schemathesis.toml'),
          'run',
          `${keyService.url}/docs-json`,
          '--url',
          keyService.url,
          '--checks',
          'all',
          // DELETE /v1/keys/{id} revokes: the key stays readable, with status `revoked`, not 404.
          '--exclude-checks',
          'use_after_free',
          '--max-examples',
          String(MAX_EXAMPLES),
          '--report',
          'har',
          '--report-dir',
          reportDir,
          '--no-color',
          ...filter,
        ],
        {
          env: { ...process.env, KEYWARD_SESSION_TOKEN: session, KEYWARD_SERVICE_TOKEN: SERVICE_TOKEN },
          maxBuffer: 64 * 1024 * 1024,
          // Schemathesis keeps its example database in the working directory: the test's own.
          cwd: reportDir,
        },
        (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
      );
    });
  }

  it('answers every generated request as the document says', { timeout: 240_000 }, async () => {
    const { code, output } = await fuzz(
      sessionToken,
      ENDING_THE_SESSION.flatMap((name) => ['--exclude-name', name]),
    );
    assert.equal(code, 0, `schemathesis found problems:\n${output.slice(-20_000)}`);
    const last = await fuzz(
      lastSessionToken,
      ENDING_THE_SESSION.flatMap((name) => ['--include-name', name]),
    );
    assert.equal(last.code, 0, `schemathesis found problems:\n${last.output.slice(-20_000)}`);

    const hars = readdirSync(reportDir).filter((name) => name.startsWith('har'));
    assert.equal(hars.length, 2, 'schemathesis wrote a HAR report of each run');
    const entries = hars.flatMap(
      (har) => (JSON.parse(readFileSync(join(reportDir, har), 'utf8')) as { log: { entries: HarEntry[] } }).log.entries,
    );
    const served = await (await fetch(`${keyService.url}/docs-json`)).text();
    assert.deepEqual(
      JSON.parse(served),
      JSON.parse(readFileSync(join(REPO, 'docs/openapi.json'), 'utf8')),
      'served as in docs/openapi.json',
    );
    const document = JSON.parse(served) as { paths: object };
    const operationOf = operationNamer(Object.keys(document.paths));
    const tally = new Map<string, Map<number, number>>();
    for (const { request, response } of entries) {
      const statuses = tally.get(operationOf(request)) ?? new Map<number, number>();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      tally.set(operationOf(request), statuses);
    }
    const lines = [...tally.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([operation, statuses]) => `${operation}: ${[...statuses].map(([s, n]) => `${s}×${n}`).join(' ')}`);
    const seeds = [output, last.output].map((text) => text.split('\n').find((line) => /^Seed:/.test(line)));
    console.log(`${entries.length} requests\n${lines.join('\n')}\n${seeds.join('\n')}`);

    // The session worked: the authenticated routes were reached, not only refused.
    assert.ok(tally.get('GET /v1/keys')?.get(200), 'GET /v1/keys answered 200 to the signed-in fuzzer');
    assert.ok(tally.get('POST /v1/keys')?.get(201), 'the fuzzer created keys');
    assert.ok(tally.get('POST /v1/keys/verify')?.get(200), 'the service token worked');
    for (const name of ENDING_THE_SESSION) assert.ok(tally.has(name), `${name} was fuzzed too`);
    const failed = entries.filter((e) => e.response.status >= 500);
    assert.deepEqual(failed, [], 'no 5xx');
  });
});
