import { Controller, Get, Header, NotFoundException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { AggregatorRegistry, Registry } from 'prom-client';
import { MetricsSettings } from './metrics.config';
import { MetricsSnapshot, WorkerMetrics } from './worker-metrics';

@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  private readonly enabled: boolean;

  constructor(
    private readonly registry: Registry,
    private readonly workers: WorkerMetrics,
    settings: MetricsSettings,
  ) {
    this.enabled = settings.METRICS_ENABLED;
  }

  /** Prometheus scrape endpoint (text exposition format), this thread's metrics with its workers'. */
  @Get()
  @Header('content-type', Registry.PROMETHEUS_CONTENT_TYPE)
  async scrape(): Promise<string> {
    if (!this.enabled) throw new NotFoundException();
    const workers = await this.workers.snapshots();
    if (workers.length === 0) return this.registry.metrics();
    return AggregatorRegistry.aggregate([
      ownMetricsKept(await this.registry.getMetricsAsJSON(), workers),
      ...workers,
    ]).metrics();
  }
}

/**
 * This thread's metrics, those no worker reports marked to pass through aggregate() unchanged:
 * prom-client's aggregators combine one metric across processes, and some drop one of Node's own
 * (process_start_time_seconds is `omit`), which this thread alone reports, for the whole process.
 */
function ownMetricsKept(own: MetricsSnapshot, workers: MetricsSnapshot[]): MetricsSnapshot {
  const merged = new Set(workers.flatMap((snapshot) => snapshot.map((metric) => metric.name)));
  return own.map((metric) => (merged.has(metric.name) ? metric : { ...metric, aggregator: 'first' }));
}
