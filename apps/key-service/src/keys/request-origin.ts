import { Injectable, NestMiddleware } from '@nestjs/common';
import { AsyncLocalStorage } from 'node:async_hooks';
import { IncomingMessage } from 'node:http';

const origins = new AsyncLocalStorage<string>();

/**
 * `{requestedFrom}` for the event of a change a user's request makes: the client address (behind
 * a proxy on this host, the address it forwarded), for the account's activity. Empty outside one.
 */
export function requestOrigin(): { requestedFrom?: string } {
  const address = origins.getStore();
  return address ? { requestedFrom: address } : {};
}

/** Remembers each key request's client address for the events it causes (Fastify sets `ip` on the raw request). */
@Injectable()
export class RequestOriginMiddleware implements NestMiddleware {
  use(request: IncomingMessage & { ip?: string }, _response: unknown, next: () => void): void {
    origins.run(request.ip ?? '', next);
  }
}
