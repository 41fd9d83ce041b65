import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';

/**
 * Structured JSON logs (nestjs-pino). Credentials are redacted at the source: a key, a session
 * token or a one-time code never reaches a log line.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        pinoHttp: {
          level: config.get<string>('LOG_LEVEL') ?? 'info',
          transport: config.get<boolean>('LOG_PRETTY') ? { target: 'pino-pretty' } : undefined,
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
})
export class LoggingModule {}
