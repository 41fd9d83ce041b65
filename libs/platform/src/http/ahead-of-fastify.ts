import type { FastifyServerOptions } from 'fastify';
import { IncomingMessage, RequestListener, Server, ServerOptions, ServerResponse } from 'node:http';

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

  /**
   * For FastifyAdapter's options: the server whose requests go to a handler here, else to Fastify's.
   * Fastify applies its timing options only to a server it makes itself: this one takes them as
   * Fastify would, so that the port keeps Fastify's keep-alive (72 s, longer than a load balancer's
   * idle timeout: with Node's 5 s the balancer reuses connections the server is closing, and answers 502).
   */
  readonly serverFactory = (fastify: RequestListener, options: Partial<ServerTiming> = {}): Server => {
    const server = new ClosingServer(options.http ?? {}, (request, response) => {
      for (const route of this.routes)
        if (route.matches(request.url)) {
          // Closing, Fastify ends the connections its requests arrive on (return503OnClosing); one kept
          // busy with requests served here would otherwise hold server.close, and shutdown, for ever.
          if (!server.listening) response.setHeader('connection', 'close');
          return route.handler(request, response);
        }
      return fastify(request, response);
    });
    if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
    if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
    if (options.connectionTimeout !== undefined) server.setTimeout(options.connectionTimeout);
    if (options.maxRequestsPerSocket) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
    return server;
  };
}

/** How long a connection is kept once idle after the server began to close (Node adds a second). */
const CLOSING_KEEP_ALIVE_MS = 1;
/** Once the server began to close, connections still open after this long are cut. */
export const CLOSE_GRACE_MS = 5_000;

/**
 * Node's close ends the connections idle at that moment, and stops timing requests. One answering a
 * request then (here or in Fastify) would stay open for its keep-alive once answered, 72 s; one whose
 * client never finishes sending its request (anyone can open one) would stay for ever. Either held
 * shutdown past an orchestrator's grace period.
 */
class ClosingServer extends Server {
  override close(callback?: (error?: Error) => void): this {
    this.keepAliveTimeout = CLOSING_KEEP_ALIVE_MS;
    setTimeout(() => this.closeAllConnections(), CLOSE_GRACE_MS).unref();
    return super.close(callback);
  }
}

/** The options Fastify hands `serverFactory` (defaults filled in) that it would apply to a server of its own. */
type ServerTiming = Required<
  Pick<FastifyServerOptions, 'keepAliveTimeout' | 'requestTimeout' | 'connectionTimeout' | 'maxRequestsPerSocket'>
> & { http?: ServerOptions };
