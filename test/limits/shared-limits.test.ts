import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelNamesDocument, ViewerRateLimitDocument } from '../../schema/__generated__/graphql.js';
import { dataDirsCleanedAfterAll, startOmtxApi, type OmtxApi } from '../support/omtx-process.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

/**
 * Two `omtx serve` processes (each its own data directory, no worker) counting through one
 * real redis-server: a user's rate limits and points budget are the same whichever
 * instance answers.
 */
describe('limits shared by two api processes through Redis', () => {
  const dataDir = dataDirsCleanedAfterAll();
  let redis: RedisServer;
  let apis: [OmtxApi, OmtxApi];

  beforeAll(async () => {
    redis = await startRedisServer();
    const env = {
      OMTX_REDIS_URL: redis.url,
      OMTX_RATE_READ: '10',
      OMTX_COST_POINTS_PER_HOUR: '1000',
      // Nothing is submitted here; a worker address that is never called keeps the worker child away.
      OMTX_WORKER_URL: 'http://127.0.0.1:9',
    };
    apis = await Promise.all([startOmtxApi(dataDir(), env), startOmtxApi(dataDir(), env)]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all((apis ?? []).map((api) => api.stop()));
    await redis?.stop();
  });

  it('lets exactly the limit of concurrent calls through across both processes', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => apis[i % 2]!.request(ModelNamesDocument)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
    for (const refused of answers.filter((a) => a.status === 429)) {
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
  });

  it('spends one points budget, whichever process answers', async () => {
    const a = (await apis[0].request(ViewerRateLimitDocument)).data!.viewer.rateLimit;
    const b = (await apis[1].request(ViewerRateLimitDocument)).data!.viewer.rateLimit;
    expect(b.used).toBe(a.used + 1);
    expect(b.remaining).toBe(a.remaining - 1);
    expect(b.resetAt).toBe(a.resetAt);
  });
});
