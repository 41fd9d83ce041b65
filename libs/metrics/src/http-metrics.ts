import { Injectable } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Histogram, Registry } from 'prom-client';

/** Duration of every HTTP request, by route template (never the raw path: ids would explode the series). */
@Injectable()
export class HttpMetrics {
  readonly duration: Histogram<'method' | 'route' | 'status'>;

  constructor(registry: Registry) {
    this.duration = new Histogram({
      name: 'keyward_http_request_duration_seconds',
      help: 'HTTP requests by method, route template and status code, by duration.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
  }

  /** Times every request the app answers, including 404s (route "unmatched") and errors. */
  instrument(app: NestFastifyApplication): void {
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onResponse', async (request, reply) => {
        this.duration.observe(
          { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
          reply.elapsedTime / 1000,
        );
      });
  }
}
