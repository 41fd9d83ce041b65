import { DynamicModule, Injectable, Module } from '@nestjs/common';
import { FastifyInstance } from 'fastify';
import { SettingsModule } from '@keyward/settings';
import { LoggerModule } from 'nestjs-pino';
import { Store, storage } from 'nestjs-pino/storage';
import { HttpLogger, Options, pinoHttp } from 'pino-http';
import { LogSettings } from './config';

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
 * request. (key-service's verification is answered ahead of Fastify and logs no request line.)
 */
@Injectable()
export class RequestLogger {
  private readonly log: HttpLogger;

  constructor(settings: LogSettings) {
    this.log = pinoHttp(logOptions(settings));
  }

  /** Call first, so requests refused by later hooks are logged too. */
  attach(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', (request, reply, done) => {
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
  static forRoot(): DynamicModule {
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
      providers: [RequestLogger],
      exports: [RequestLogger],
    };
  }
}
