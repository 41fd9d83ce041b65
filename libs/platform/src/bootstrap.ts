import { INestApplication, Logger as NestLogger, Type } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { HttpMetrics } from '@keyward/metrics';
import { AheadOfFastify } from './http/ahead-of-fastify';
import {
  acceptJsonBodiesOnly,
  answerFrameworkError,
  JSON_BODY_LIMIT,
  problemDetailsErrorHandler,
} from './http/json-bodies';
import { refuseUnknownMethods } from './http/method-not-allowed';
import { z } from 'zod';
import { validateEnv } from '@keyward/settings';
import { HttpSettings, trustProxySetting } from './config';
import { RequestLogger } from './logging.module';

/**
 * Fastify takes TRUST_PROXY when it is built, before ConfigModule validates the rest; the same
 * setting (in httpEnv) is validated there again, so every service documents and checks it.
 */
const trustProxyOf = validateEnv(z.object({ TRUST_PROXY: trustProxySetting }));

/**
 * A request's headers and body must have arrived within this (Fastify's default is never): a client
 * that sends slowly, or stops, does not hold its connection. The largest body, a 1 MB leak batch,
 * takes a fraction of it.
 */
const REQUEST_TIMEOUT_MS = 60_000;

/**
 * Creates a service's Fastify app with pino logs, request metrics (its module imports MetricsModule)
 * and graceful shutdown; `configure` adds HTTP extras (such as applyRouteBodyConfig, or a route
 * served ahead of Fastify). Bodies are JSON
 * only, within JSON_BODY_LIMIT unless a route's RouteBodyConfig says otherwise; a method a path does
 * not have answers 405.
 */
export async function createHttpApp(
  module: Type<unknown>,
  configure?: (app: NestFastifyApplication, ahead: AheadOfFastify) => Promise<void> | void,
): Promise<NestFastifyApplication> {
  // eslint-disable-next-line no-restricted-properties -- needed before ConfigModule exists (see trustProxyOf)
  const { TRUST_PROXY } = trustProxyOf(process.env);
  const ahead = new AheadOfFastify();
  const app = await NestFactory.create<NestFastifyApplication>(
    module,
    new FastifyAdapter({
      trustProxy: TRUST_PROXY,
      bodyLimit: JSON_BODY_LIMIT,
      requestTimeout: REQUEST_TIMEOUT_MS,
      frameworkErrors: answerFrameworkError,
      serverFactory: ahead.serverFactory,
    }),
    // Nest's own parsers would take form bodies too; acceptJsonBodiesOnly installs the only one.
    { bufferLogs: true, bodyParser: false },
  );
  app.useLogger(app.get(Logger));
  const fastify = app.getHttpAdapter().getInstance();
  app.get(RequestLogger).attach(fastify);
  acceptJsonBodiesOnly(fastify);
  refuseUnknownMethods(fastify);
  fastify.setErrorHandler(problemDetailsErrorHandler(new NestLogger('HttpErrors')));
  app.enableShutdownHooks();
  app.get(HttpMetrics).instrument(app);
  await configure?.(app, ahead);
  return app;
}

/** Starts the HTTP listener and says where, on which Node (the project brings its own; see README). */
export async function listen(app: INestApplication): Promise<void> {
  const { HTTP_PORT: port, HTTP_HOST: host } = new HttpSettings(app.get(ConfigService));
  await app.listen(port, host);
  new NestLogger('Bootstrap').log(`listening on http://${host}:${port}, Node ${process.version}`);
}

/** Prints a start-up failure (such as invalid configuration) plainly and exits non-zero. */
export function exitOnStartupFailure(error: unknown): never {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
