import { DynamicModule, Inject, Injectable, Module, RequestMethod } from '@nestjs/common';
import { RouteInfo } from '@nestjs/common/interfaces';
import { FastifyInstance } from 'fastify';
import { SettingsModule } from '@keyward/settings';
import { LoggerModule } from 'nestjs-pino';
import { Store, storage } from 'nestjs-pino/storage';
import { HttpLogger, Options, pinoHttp } from 'pino-http';
import { LogSettings } from './config';

export interface LoggingOptions {
  /**
   * Routes whose requests get no request log line (nor the per-request logger behind it): routes
   * other services call on every request they serve, whose answers metrics count instead. Their
   * failures are still logged where they are handled.
   */
  unlogged?: RouteInfo[];
}

const UNLOGGED = Symbol('unlogged routes');

/** pino's and pino-http's options: one JSON line per request, credentials redacted at the source. */
function logOptions(settings: LogSettings): Options {
  return {
    level: settings.LOG_LEVEL,
    transport: settings.LOG_PRETTY ? { target: 'pino-pretty' } : undefined,
    autoLogging: { ignore: (req) => req.url === '/health' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-service-token"]',
        'req.headers["x-csrf-token"]',
        'res.headers["set-cookie"]',
      ],
      censor: '[redacted]',
    },
    // Query strings may carry anything a client sends; log the path only.
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({
        id: req.id,
        method: req.method,
        url: req.url.split('?')[0],
      }),
    },
  };
}

/**
 * The request log line ("request completed"/"errored", with Fastify's request id) and the
 * per-request logger Nest's Logger writes through while the request is served. A Fastify hook
 * rather than nestjs-pino's Nest middleware: any Nest middleware makes @fastify/middie run on every
 * request, the unlogged hot routes included.
 */
@Injectable()
export class RequestLogger {
  private readonly log: HttpLogger;
  private readonly unlogged: Set<string>;

  constructor(settings: LogSettings, @Inject(UNLOGGED) unlogged: RouteInfo[]) {
    this.log = pinoHttp(logOptions(settings));
    this.unlogged = new Set(unlogged.map(({ method, path }) => `${RequestMethod[method]} /${path}`));
  }

  /** Call first, so requests refused by later hooks are logged too. */
  attach(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', (request, reply, done) => {
      if (this.unlogged.has(`${request.method} ${request.routeOptions.url}`)) return done();
      // pino-http takes the request's id from here rather than counting its own.
      request.raw.id = request.id;
      this.log(request.raw, reply.raw, () => storage.run(new Store(request.raw.allLogs.at(-1)!), done));
    });
  }
}

/**
 * Structured JSON logs (nestjs-pino for Nest's Logger, RequestLogger for requests). Credentials
 * are redacted at the source: a key, a session token or a one-time code never reaches a log line.
 */
@Module({})
export class LoggingModule {
  static forRoot({ unlogged = [] }: LoggingOptions = {}): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        SettingsModule.forFeature(LogSettings),
        LoggerModule.forRootAsync({
          imports: [SettingsModule.forFeature(LogSettings)],
          inject: [LogSettings],
          // No routes: RequestLogger logs the requests.
          useFactory: (settings: LogSettings) => ({ pinoHttp: logOptions(settings), forRoutes: [] }),
        }),
      ],
      providers: [RequestLogger, { provide: UNLOGGED, useValue: unlogged }],
      exports: [RequestLogger],
    };
  }
}
