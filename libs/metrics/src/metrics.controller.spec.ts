import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import { MetricsSettings } from './metrics.config';
import { MetricsController } from './metrics.controller';
import { WorkerMetrics } from './worker-metrics';

/** The sample lines of a scrape (no HELP or TYPE), by series. */
const samples = (body: string) => new Set(body.split('\n').filter((line) => line && !line.startsWith('#')));

/** Node's default metrics whose value moves between two reads (memory, timings, handles). */
const MOVING = /^(process_(cpu|resident|virtual|heap|open_fds)|nodejs_(eventloop|active|heap|external|gc))/;

describe('GET /metrics with a worker thread’s metrics', () => {
  const settings = { METRICS_ENABLED: true } as MetricsSettings;

  it('sums what both count and keeps this thread’s own metrics, Node’s defaults included, as they are', async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const workerRegistry = new Registry();
    const verifications = (registers: Registry[]) =>
      new Counter({ name: 'verifications_total', help: 'x', labelNames: ['result'], registers });
    verifications([registry]).inc({ result: 'valid' }, 2);
    verifications([workerRegistry]).inc({ result: 'valid' }, 3);
    const workers = new WorkerMetrics();
    workers.add(() => workerRegistry.getMetricsAsJSON());

    const alone = samples(await registry.metrics());
    const merged = samples(await new MetricsController(registry, workers, settings).scrape());

    assert.ok(merged.has('verifications_total{result="valid"} 5'), 'summed');
    const steady = [...alone].filter((line) => !MOVING.test(line) && !line.startsWith('verifications_total'));
    assert.ok(steady.some((line) => line.startsWith('process_start_time_seconds ')));
    assert.ok(steady.some((line) => line.startsWith('nodejs_version_info')));
    for (const line of steady) assert.ok(merged.has(line), `${line} kept`);
    const names = (lines: Set<string>) => new Set([...lines].map((line) => line.split(/[{ ]/)[0]));
    assert.deepEqual(names(merged), names(alone), 'every metric of this thread, and no other');
  });
});
