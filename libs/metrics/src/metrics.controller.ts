import { Controller, Get, Header, NotFoundException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiExcludeController } from '@nestjs/swagger';
import { Registry } from 'prom-client';

@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  private readonly enabled: boolean;

  constructor(
    private readonly registry: Registry,
    config: ConfigService,
  ) {
    this.enabled = config.get<boolean>('METRICS_ENABLED') ?? true;
  }

  /** Prometheus scrape endpoint (text exposition format). */
  @Get()
  @Header('content-type', Registry.PROMETHEUS_CONTENT_TYPE)
  async scrape(): Promise<string> {
    if (!this.enabled) throw new NotFoundException();
    return this.registry.metrics();
  }
}
