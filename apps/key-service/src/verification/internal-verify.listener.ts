import type { KeyVerification } from '@keyward/contracts';
import { BODY_TOO_LARGE, JSON_BODIES_ONLY, jsonShapeProblem } from '@keyward/platform/http/json-bodies';
import { BadRequestException, HttpException, HttpStatus } from '@keyward/platform/http/nest-http';
import { answerableError, ErrorLog, PROBLEM_JSON, problemOf } from '@keyward/platform/http/problem-details';
import { parseBody } from '@keyward/platform/http/request-body';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { KeyVerifier } from './key-verifier';
import { MISSING_SERVICE_TOKEN, SERVICE_TOKEN_HEADER, TokenSet } from './token-set';
import { VERIFY_BODY_LIMIT, verifyKeyBody } from './verify-key.request';
import { VERIFY_PATH } from './verify.route';

export interface InternalVerifyListenerOptions {
  verifier: Pick<KeyVerifier, 'verifyFor'>;
  tokens: TokenSet;
  /** A request's headers and body must have arrived by then: a slow sender does not keep its connection. */
  requestTimeoutMs: number;
  /** Connections held at once; more are closed as they arrive. */
  maxConnections: number;
  /** Where a 500's error is logged, under the id its answer shows. */
  errors: ErrorLog;
}

class MethodNotAllowed extends HttpException {
  constructor(method = '') {
    super(`${method} is not allowed here; this path takes POST`, HttpStatus.METHOD_NOT_ALLOWED);
  }
}

const JSON_TYPE = 'application/json; charset=utf-8';
const NOT_FOUND = `Only POST ${VERIFY_PATH} is served here`;
const EMPTY_BODY = 'The request body is empty; send {"key": "…"}';
const NOT_JSON = 'The request body is not valid JSON';

/**
 * The internal listener's HTTP server: node:http serving `POST /v1/keys/verify` and nothing else,
 * with what the route checks on the public port (service token 401, JSON only 415, at most
 * VERIFY_BODY_LIMIT bytes 413, nesting and properties bounded before parsing and the body by
 * verifyKeyBody 400, the caller's failure budget 429) and its problem-details answers. One route
 * needs no router or plugin system: a Fastify route answering a constant costs more CPU than this
 * whole verification (bench/RESULTS.md, "verify"). The token is checked before the body is read,
 * so a caller without one costs no parsing.
 */
export function internalVerifyListener(options: InternalVerifyListenerOptions): Server {
  const server = createServer(
    // Node cuts a late request only with a headers timeout no longer than this (its default is 60 s),
    // and looks for them every 30 s unless told otherwise.
    {
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: options.requestTimeoutMs,
      connectionsCheckingInterval: 1_000,
    },
    (request, response) => {
      answer(options, request).then(
        (result) => send(response, 200, JSON_TYPE, JSON.stringify(result)),
        (error: unknown) => sendProblem(request, response, answerableError(error, options.errors)),
      );
    },
  );
  server.maxConnections = options.maxConnections;
  return server;
}

async function answer(options: InternalVerifyListenerOptions, request: IncomingMessage): Promise<KeyVerification> {
  const url = request.url ?? '';
  const query = url.indexOf('?');
  if ((query === -1 ? url : url.slice(0, query)) !== VERIFY_PATH)
    throw new HttpException(NOT_FOUND, HttpStatus.NOT_FOUND);
  // As on the public port (refuseUnknownMethods): the path is there, the method is not.
  if (request.method !== 'POST') throw new MethodNotAllowed(request.method);
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
  const text = await bodyText(request);
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

/** The body as UTF-8 text, refused with 413 as soon as it passes VERIFY_BODY_LIMIT bytes. */
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
    request.on('error', reject);
  });
}

function sendProblem(request: IncomingMessage, response: ServerResponse, exception: HttpException): void {
  const { status, retryAfter, body } = problemOf(exception);
  if (retryAfter !== undefined) response.setHeader('retry-after', retryAfter);
  if (exception instanceof MethodNotAllowed) response.setHeader('allow', 'POST');
  // Answered before its body was read (or all of it): the connection is not reused for another request.
  if (!request.complete) response.setHeader('connection', 'close');
  send(response, status, `${PROBLEM_JSON}; charset=utf-8`, JSON.stringify(body));
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  // The caller went away, or a request timeout answered it.
  if (response.headersSent || response.destroyed) return;
  // no-store, as on the public port's API: an answer names the key's account.
  response
    .writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' })
    .end(body);
}
