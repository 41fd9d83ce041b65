import { FastifyInstance, FastifyRequest, preParsingHookHandler, RouteOptions } from 'fastify';
import { pipeline, Transform } from 'node:stream';

/**
 * Per-route body handling, set with Nest's `@RouteConfig(...)`: `bodyLimit` (bytes) bounds one
 * route's body below or above the server's (JSON_BODY_LIMIT), `jsonMaxProperties` the properties
 * its JSON may hold in all (JSON_MAX_PROPERTIES by default), `rawBody` keeps the exact bytes beside
 * the parsed body (for signatures computed over them).
 */
export interface RouteBodyConfig {
  bodyLimit?: number;
  jsonMaxProperties?: number;
  rawBody?: boolean;
}

/** A request on a `rawBody` route: the body exactly as it arrived. */
export type RequestWithRawBody = FastifyRequest & { rawBody?: Buffer };

/** Applies each route's RouteBodyConfig. Call before the routes are registered (before listen). */
export function applyRouteBodyConfig(fastify: FastifyInstance): void {
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const config = (route.config ?? {}) as RouteBodyConfig;
    if (config.bodyLimit !== undefined) route.bodyLimit = config.bodyLimit;
    if (config.rawBody) route.preParsing = [...[route.preParsing ?? []].flat(), keepRawBody];
  });
}

/** Passes the body through to the parser untouched, collecting its bytes on the way. */
const keepRawBody: preParsingHookHandler = (request, _reply, payload, done) => {
  const chunks: Buffer[] = [];
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      chunks.push(chunk);
      next(null, chunk);
    },
    flush(next) {
      (request as RequestWithRawBody).rawBody = Buffer.concat(chunks);
      next();
    },
  });
  // pipeline, not pipe: an aborted request must end the tap too, or the parser would wait on it.
  done(
    null,
    pipeline(payload, tap, () => undefined),
  );
};
