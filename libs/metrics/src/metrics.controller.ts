import { Controller, Get, Header, NotFoundException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { AggregatorRegistry, Registry } from 'prom-client';
import { MetricsSettings } from './metrics.config';
import { WorkerMetrics } from './worker-metrics';

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
    return AggregatorRegistry.aggregate([await this.registry.getMetricsAsJSON(), ...workers]).metrics();
  }
}
