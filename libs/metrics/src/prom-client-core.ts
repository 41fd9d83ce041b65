/**
 * prom-client's Registry, Counter and Histogram for code that also runs outside a service's main
 * thread (the internal verification listener's worker), imported from their own module files on
 * purpose: prom-client's index also loads its default metrics (with @opentelemetry/api) and its push
 * gateway (with https), about 12 MB of a worker thread's memory. They are the very classes the index
 * exports (internal-verify.worker.spec.ts fails when the worker loads the index again).
 */
export { default as Registry } from 'prom-client/lib/registry';
export { default as Counter } from 'prom-client/lib/counter';
export { default as Histogram } from 'prom-client/lib/histogram';
