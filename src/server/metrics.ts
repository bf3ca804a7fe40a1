import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { App } from '../container.js';
import { withTimeout } from '../with-timeout.js';
import type { PostureConfig } from '../auth/auth-config.js';

/** Prometheus metrics of one api process, served at /metrics. */
export interface Metrics {
  registry: Registry;
  /** `operation` is the client's operationName: see {@link OperationLabels} for what becomes a label. */
  observeOperation(operation: string | null, type: string, outcome: 'ok' | 'error', seconds: number): void;
}

/** Distinct operation names kept as labels; later ones count as `other`. @default 200 */
export const MAX_OPERATION_LABELS = 200;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * The operation name is chosen by the client, so each new one would be a new time series:
 * only GraphQL names of at most 64 characters, and only the first {@link MAX_OPERATION_LABELS}
 * distinct ones seen, are kept; the rest are `other` (no name at all is `anonymous`).
 */
export class OperationLabels {
  private readonly seen = new Set<string>();

  constructor(private readonly max = MAX_OPERATION_LABELS) {}

  of(name: string | null): string {
    if (name === null) return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'other';
    if (this.seen.has(name)) return name;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(name);
    return name;
  }
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
      await orWarn(app, 'omtx_jobs', async () => {
        const counts = await app.jobs.countJobsByStatus();
        for (const [status, count] of Object.entries(counts)) this.set({ status }, count);
      });
    },
  });
  new Gauge({
    name: 'omtx_queue_depth',
    help: 'Tasks waiting or in flight',
    registers: [registry],
    async collect() {
      await orWarn(app, 'omtx_queue_depth', async () => this.set(await app.queue.depth()));
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
  const labels = new OperationLabels();
  return {
    registry,
    observeOperation(name, type, outcome, seconds) {
      const operation = labels.of(name);
      requests.inc({ operation, type, outcome });
      latency.observe({ operation, type }, seconds);
    },
  };
}

/**
 * GET /metrics, as `posture.metrics` says: open, behind `Authorization: Bearer <token>` (401
 * without it), or off (404).
 */
export async function serveMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: Metrics,
  config: { posture: Pick<PostureConfig, 'metrics'> },
): Promise<void> {
  const access = config.posture.metrics;
  if (access.access === 'off') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are off: set OMTX_METRICS_TOKEN to serve them\n');
    return;
  }
  if (access.access === 'token' && !bearerMatches(req.headers.authorization, access.token)) {
    res
      .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="omtx-metrics"' })
      .end('metrics need Authorization: Bearer <OMTX_METRICS_TOKEN>\n');
    return;
  }
  const text = await metrics.registry.metrics();
  res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
}

/** Constant time: both sides are hashed to the same length first. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(\S+)$/i.exec(header?.trim() ?? '')?.[1] ?? '';
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/** A scrape waits this long for one source. @default 5_000 // 5 seconds */
const COLLECT_TIMEOUT_MS = 5_000;

/**
 * Runs a gauge's collection; a failure or a source slower than COLLECT_TIMEOUT_MS (the store
 * or the queue unreachable, a missing permission) is logged and the gauge keeps its last
 * value, so one source cannot turn the whole of /metrics into a 500 or a hang.
 */
async function orWarn(app: App, gauge: string, collect: () => Promise<void>): Promise<void> {
  try {
    await withTimeout(collect(), COLLECT_TIMEOUT_MS, `the source of ${gauge}`);
  } catch (error) {
    app.logger.warn({ err: error, gauge }, 'a metric could not be collected');
  }
}
