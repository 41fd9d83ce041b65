import { Global, Module } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { HttpMetrics } from './http-metrics';
import { MetricsSettings } from './metrics.config';
import { MetricsController } from './metrics.controller';
import { WorkerMetrics } from './worker-metrics';

/**
 * A service's Prometheus registry (with Node's process metrics) and `GET /metrics`. Features
 * register their own metrics in it, beside their code (`*.metrics.ts`).
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [
    {
      provide: Registry,
      useFactory: () => {
        const registry = new Registry();
        collectDefaultMetrics({ register: registry });
        return registry;
      },
    },
    HttpMetrics,
    MetricsSettings,
    WorkerMetrics,
  ],
  exports: [Registry, HttpMetrics, WorkerMetrics],
})
export class MetricsModule {}
