import { HttpException, HttpStatus } from './nest-http';
import { FastifyInstance, RouteOptions } from 'fastify';
import { sendProblem } from './problem-details';

/** A route path as a regex: `/v1/keys/:id` matches `/v1/keys/` and one segment, `*` anything. */
function pathPattern(url: string): RegExp {
  const parts = url.split(/(:\w+|\*)/).map((part) => {
    if (part === '*') return '.*';
    if (part.startsWith(':')) return '[^/]+';
    return part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${parts.join('')}$`);
}

interface RoutePath {
  url: string;
  pattern: RegExp;
  /** Path parameters and wildcards: the fewer, the more specific (`/v1/keys/verify` over `/v1/keys/:id`). */
  variables: number;
  methods: Set<string>;
}

/** The 405 for a method a path does not have; `allow` lists the methods it has, as its Allow header does. */
export const methodNotAllowed = (method: string, allow: string) =>
  new HttpException(`${method} is not allowed here; this path takes ${allow}`, HttpStatus.METHOD_NOT_ALLOWED);

/**
 * A method a path does not have is a 405 naming the methods it does have in `Allow` (RFC 9110),
 * not a 404 that says the path is not there. The path is the most specific one matching, as in
 * OpenAPI: `GET /v1/keys/verify` is a 405 (that path takes POST), not a lookup of a key called
 * "verify". Call before the routes are registered.
 */
export function refuseUnknownMethods(fastify: FastifyInstance): void {
  const paths = new Map<string, RoutePath>();
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const path = paths.get(route.url) ?? {
      url: route.url,
      pattern: pathPattern(route.url),
      variables: (route.url.match(/:\w+|\*/g) ?? []).length,
      methods: new Set<string>(),
    };
    for (const method of [route.method].flat()) path.methods.add(method);
    paths.set(route.url, path);
  });
  fastify.addHook('onRequest', async (request, reply) => {
    const matched = request.routeOptions.url;
    // A route without variables is as specific as any: such paths stop here.
    if (matched !== undefined && !/[:*]/.test(matched)) return;
    const target = request.url.split('?')[0];
    const candidates = [...paths.values()].filter(({ pattern }) => pattern.test(target));
    const fewest = Math.min(...candidates.map(({ variables }) => variables));
    const mostSpecific = candidates.filter(({ variables }) => variables === fewest);
    if (mostSpecific.length === 0 || mostSpecific.some(({ url }) => url === matched)) return;
    const allow = [...new Set(mostSpecific.flatMap(({ methods }) => [...methods]))].sort().join(', ');
    void reply.header('allow', allow);
    return sendProblem(reply, methodNotAllowed(request.method, allow));
  });
}
