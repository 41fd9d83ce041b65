import { Controller, Get, Header } from '@nestjs/common';
import { ScanMetrics } from './scan-metrics';

@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: ScanMetrics) {}

  /** Prometheus scrape endpoint. */
  @Get()
  @Header('content-type', 'text/plain; version=0.0.4')
  scrape(): string {
    return this.metrics.prometheus();
  }
}
