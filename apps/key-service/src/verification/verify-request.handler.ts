import type { KeyVerification } from '@keyward/contracts';
import { BODY_TOO_LARGE, JSON_BODIES_ONLY, jsonShapeProblem } from '@keyward/platform/http/json-bodies';
import { methodNotAllowed } from '@keyward/platform/http/method-not-allowed';
import { BadRequestException, HttpException, HttpStatus } from '@keyward/platform/http/nest-http';
import { answerableError, ErrorLog, PROBLEM_JSON, problemOf } from '@keyward/platform/http/problem-details';
import { parseBody } from '@keyward/platform/http/request-body';
import { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyVerifier } from './key-verifier';
import { MISSING_SERVICE_TOKEN, SERVICE_TOKEN_HEADER, TokenSet } from './token-set';
import { VERIFY_BODY_LIMIT, verifyKeyBody } from './verify-key.request';

export const VERIFY_PATH = '/v1/keys/verify';

export interface VerifyRequestOptions {
  verifier: Pick<KeyVerifier, 'verifyFor'>;
  tokens: TokenSet;
  /** Where a 500's error is logged, under the id its answer shows. */
  errors: ErrorLog;
  /** Headers of every answer beside its type and length (the listener's security headers). */
  headers: Readonly<Record<string, string>>;
  /** Every answer, for a listener that times its requests (keyward_http_request_duration_seconds). */
  answered?(method: string, status: number, seconds: number): void;
}

/** True for a request to VERIFY_PATH, with or without a query string. */
export function isVerifyRequest(url = ''): boolean {
  return url.startsWith(VERIFY_PATH) && (url.length === VERIFY_PATH.length || url[VERIFY_PATH.length] === '?');
}

const JSON_TYPE = 'application/json; charset=utf-8';
const PROBLEM_JSON_TYPE = `${PROBLEM_JSON}; charset=utf-8`;
const NOT_FOUND = `Only POST ${VERIFY_PATH} is served here`;
const EMPTY_BODY = 'The request body is empty; send {"key": "…"}';
const NOT_JSON = 'The request body is not valid JSON';
const BODY_CUT_SHORT = 'The connection closed before the request body was complete';

/**
 * `POST /v1/keys/verify` as a node:http request handler, the same on the public port (ahead of
 * Fastify) and on the internal listener (VERIFY_HTTP_PORT, its worker's whole server). It checks
 * what any route of the public port would: the service token (401, before the body is read, so a
 * caller without one costs no parsing), JSON only (415), at most VERIFY_BODY_LIMIT bytes (413),
 * nesting and properties bounded before parsing and the body by verifyKeyBody (400), the caller's
 * failure budget (429), another method 405 and another path 404, every refusal as problem details.
 * Verification is called on every request internal services serve, and a Fastify route answering
 * a constant costs more CPU than this whole verification (bench/RESULTS.md, "verify"). It writes
 * no request log line: internal services' every request would be most of key-service's log volume.
 */
export function verifyRequestHandler(
  options: VerifyRequestOptions,
): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const started = performance.now();
    const respond = (status: number, type: string, body: string) => {
      send(
        response,
        status,
        { ...options.headers, 'content-type': type, 'content-length': String(Buffer.byteLength(body)) },
        body,
      );
      options.answered?.(request.method ?? '', status, (performance.now() - started) / 1000);
    };
    answer(options, request).then(
      (result) => respond(200, JSON_TYPE, JSON.stringify(result)),
      (error: unknown) => {
        const { status, retryAfter, body } = problemOf(answerableError(error, options.errors));
        if (retryAfter !== undefined) response.setHeader('retry-after', retryAfter);
        if (status === HttpStatus.METHOD_NOT_ALLOWED) response.setHeader('allow', 'POST');
        // Answered before its body was read (or all of it): the connection is not reused for another request.
        if (!request.complete) response.setHeader('connection', 'close');
        respond(status, PROBLEM_JSON_TYPE, JSON.stringify(body));
      },
    );
  };
}

async function answer(options: VerifyRequestOptions, request: IncomingMessage): Promise<KeyVerification> {
  if (!isVerifyRequest(request.url)) throw new HttpException(NOT_FOUND, HttpStatus.NOT_FOUND);
  // As on the public port (refuseUnknownMethods): the path is there, the method is not.
  if (request.method !== 'POST') throw methodNotAllowed(request.method ?? '', 'POST');
  const caller = options.tokens.callerOf(request.headers[SERVICE_TOKEN_HEADER]);
  if (!caller) throw new HttpException(MISSING_SERVICE_TOKEN, 401);
  const body = await jsonBody(request);
  return options.verifier.verifyFor(caller, parseBody(verifyKeyBody, body).key);
}

/** The request's JSON body (undefined when it has none), refused as Fastify's JSON parser refuses it on the public port. */
async function jsonBody(request: IncomingMessage): Promise<unknown> {
  const type = request.headers['content-type'];
  if (type === undefined) {
    if (hasNoBody(request)) return undefined;
    throw new HttpException(JSON_BODIES_ONLY, 415);
  }
  const semicolon = type.indexOf(';');
  if ((semicolon === -1 ? type : type.slice(0, semicolon)).trim().toLowerCase() !== 'application/json')
    throw new HttpException(JSON_BODIES_ONLY, 415);
  if (Number(request.headers['content-length']) > VERIFY_BODY_LIMIT) throw new HttpException(BODY_TOO_LARGE, 413);
  const body = await bodyText(request);
  // A byte order mark JSON parsers may ignore (RFC 8259), as Fastify's does on every other route.
  const text = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  if (text.length === 0) throw new BadRequestException(EMPTY_BODY);
  const problem = jsonShapeProblem(text);
  if (problem) throw new BadRequestException(problem);
  try {
    // Only verifyKeyBody reads the result, and it refuses every field but `key` (`__proto__` too).
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadRequestException(NOT_JSON);
  }
}

const hasNoBody = (request: IncomingMessage) =>
  request.headers['transfer-encoding'] === undefined && Number(request.headers['content-length'] ?? 0) === 0;

/** The body as UTF-8 text, refused with 413 as soon as it passes VERIFY_BODY_LIMIT bytes, 400 if cut short. */
function bodyText(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    request.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > VERIFY_BODY_LIMIT) {
        request.removeAllListeners('data');
        reject(new HttpException(BODY_TOO_LARGE, 413));
      } else chunks.push(chunk);
    });
    request.on('end', () =>
      resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')),
    );
    // The caller went away mid-body (IncomingMessage's ECONNRESET "aborted"): its fault, answered as
    // Fastify answers it (400), not as a dependency unreachable (503, which pages) nor a 500.
    request.on('error', () => reject(new BadRequestException(BODY_CUT_SHORT)));
  });
}

function send(response: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  // The caller went away, or a request timeout answered it.
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, headers).end(body);
}
