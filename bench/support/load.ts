import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  /** Makes the JSON body of each request (called per request, so ids can vary). */
  body: () => string;
  /** @default 50 */
  connections?: number;
  /** Seconds measured, after `warmupSeconds` of the same load that is thrown away. @default 10 */
  seconds?: number;
  /** @default 2 */
  warmupSeconds?: number;
  /** Requests per second over all connections; unset means as fast as the server answers. */
  overallRate?: number;
}

export interface LoadResult {
  /** Completed 2xx requests per second over the measured window. */
  rps: number;
  p50: number;
  p99: number;
  max: number;
  total: number;
  failures: number;
}

/** Drives POST /graphql with autocannon from this process (the server runs in another one). */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const base = {
    url: `${options.url}/graphql`,
    connections: options.connections ?? 50,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request: object) => ({ ...request, body: options.body() }),
      },
    ],
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
  };
  const warmup = options.warmupSeconds ?? 2;
  if (warmup > 0) await autocannon({ ...base, duration: warmup });
  const r = await autocannon({ ...base, duration: options.seconds ?? 10 });
  return {
    rps: r['2xx'] / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    total: r.requests.total,
    failures: r.errors + r.timeouts + r.non2xx,
  };
}
