import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { App } from '../container.js';

/** Prometheus metrics of one api process, served at /metrics. */
export interface Metrics {
  registry: Registry;
  observeOperation(operation: string, type: string, outcome: 'ok' | 'error', seconds: number): void;
}

export function createMetrics(app: App): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'omtx_graphql_requests_total',
    help: 'GraphQL operations by name, type and outcome',
    labelNames: ['operation', 'type', 'outcome'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'omtx_graphql_request_duration_seconds',
    help: 'GraphQL operation latency by name and type',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'omtx_jobs',
    help: 'Jobs by status (individual and batch children)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const counts = await app.jobs.countJobsByStatus();
      for (const [status, count] of Object.entries(counts)) this.set({ status }, count);
    },
  });
  new Gauge({
    name: 'omtx_queue_depth',
    help: 'Tasks waiting or in flight',
    registers: [registry],
    async collect() {
      this.set(await app.queue.depth());
    },
  });
  new Gauge({
    name: 'omtx_subscriptions',
    help: 'Open subscriptions on this process',
    registers: [registry],
    collect() {
      this.set(app.hub.stats().subscribers);
    },
  });
  return {
    registry,
    observeOperation(operation, type, outcome, seconds) {
      requests.inc({ operation, type, outcome });
      latency.observe({ operation, type }, seconds);
    },
  };
}
