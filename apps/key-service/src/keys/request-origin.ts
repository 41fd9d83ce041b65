import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Observable } from 'rxjs';

const origins = new AsyncLocalStorage<string>();

/**
 * `{requestedFrom}` for the event of a change a user's request makes: the client address (behind
 * a proxy on this host, the address it forwarded), for the account's activity. Empty outside one.
 */
export function requestOrigin(): { requestedFrom?: string } {
  const address = origins.getStore();
  return address ? { requestedFrom: address } : {};
}

/**
 * Remembers each key request's client address for the events it causes. An interceptor, not a
 * Nest middleware: any middleware makes @fastify/middie run on every request the public port
 * answers, verifications included. The handler Nest calls from `handle()` keeps the context it is
 * created in.
 */
@Injectable()
export class RequestOriginInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    return origins.run(request.ip, () => next.handle());
  }
}
