import { Controller, Get, Header, NotFoundException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { MetricsSettings } from './metrics.config';

@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  private readonly enabled: boolean;

  constructor(
    private readonly registry: Registry,
    settings: MetricsSettings,
  ) {
    this.enabled = settings.METRICS_ENABLED;
  }

  /** Prometheus scrape endpoint (text exposition format). */
  @Get()
  @Header('content-type', Registry.PROMETHEUS_CONTENT_TYPE)
  async scrape(): Promise<string> {
    if (!this.enabled) throw new NotFoundException();
    return this.registry.metrics();
  }
}
