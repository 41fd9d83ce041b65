import { createServer, IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * Requests a service answers with a plain node:http handler before Fastify sees them: a route so hot
 * that Fastify's routing, hooks and serialization would cost more than its answer (key-service's
 * verification, bench/RESULTS.md "verify"). The handler takes over everything Fastify would have
 * done for it: checks, errors, headers, metrics. Every other request goes to Fastify. Handlers are
 * added once the app exists; the server is made by FastifyAdapter through `serverFactory`.
 */
export class AheadOfFastify {
  private readonly routes: { matches: (url: string | undefined) => boolean; handler: Handler }[] = [];

  /** Serves the requests whose URL `matches` with `handler` from now on. */
  serve(matches: (url: string | undefined) => boolean, handler: Handler): void {
    this.routes.push({ matches, handler });
  }

  /** For FastifyAdapter's options: the server whose requests go to a handler here, else to Fastify's. */
  readonly serverFactory = (fastify: RequestListener): Server =>
    createServer((request, response) => {
      for (const route of this.routes) if (route.matches(request.url)) return route.handler(request, response);
      return fastify(request, response);
    });
}
