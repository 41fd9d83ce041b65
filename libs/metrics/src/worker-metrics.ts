import { Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';

/** A registry's metrics as getMetricsAsJSON() gives them, which a worker thread can post. */
export type MetricsSnapshot = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * Metrics kept in worker threads' own registries (a worker's isolate cannot share this one),
 * merged into every scrape of `GET /metrics`: counters and histograms of the same name and
 * labels are summed with this thread's.
 */
@Injectable()
export class WorkerMetrics {
  private readonly sources: (() => Promise<MetricsSnapshot | undefined>)[] = [];

  /** A worker's metrics, asked for at each scrape; undefined while it cannot answer. */
  add(source: () => Promise<MetricsSnapshot | undefined>): void {
    this.sources.push(source);
  }

  async snapshots(): Promise<MetricsSnapshot[]> {
    const snapshots = await Promise.all(this.sources.map((source) => source()));
    return snapshots.filter((snapshot): snapshot is MetricsSnapshot => snapshot !== undefined);
  }
}
