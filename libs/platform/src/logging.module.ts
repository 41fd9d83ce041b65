import { DynamicModule, Module } from '@nestjs/common';
import { RouteInfo } from '@nestjs/common/interfaces';
import { SettingsModule } from '@keyward/settings';
import { LoggerModule } from 'nestjs-pino';
import { LogSettings } from './config';

export interface LoggingOptions {
  /**
   * Routes whose requests get no request log line (nor the per-request logger behind it): routes
   * other services call on every request they serve, whose answers metrics count instead. Their
   * failures are still logged where they are handled.
   */
  unlogged?: RouteInfo[];
}

/**
 * Structured JSON logs (nestjs-pino). Credentials are redacted at the source: a key, a session
 * token or a one-time code never reaches a log line.
 */
@Module({})
export class LoggingModule {
  static forRoot({ unlogged = [] }: LoggingOptions = {}): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          imports: [SettingsModule.forFeature(LogSettings)],
          inject: [LogSettings],
          useFactory: (settings: LogSettings) => ({
            ...(unlogged.length > 0 ? { exclude: unlogged } : {}),
            pinoHttp: {
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
            },
          }),
        }),
      ],
    };
  }
}
