import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelNamesDocument, ViewerRateLimitDocument } from '../../schema/__generated__/graphql.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** A loopback port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('limits while Redis is unreachable', () => {
  let server: TestServer;

  beforeAll(async () => {
    // A real ioredis client whose every command fails: connection refused.
    server = await startTestServer({
      OMTX_REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
      OMTX_RATE_READ: '100',
      OMTX_COST_POINTS_PER_HOUR: '500',
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('lets operations through and answers viewer.rateLimit with a full budget, never INTERNAL', async () => {
    const models = await server.request(ModelNamesDocument);
    expect(models.status).toBe(200);
    expect(models.errors).toBeUndefined();

    const answer = await server.request(ViewerRateLimitDocument);
    expect(answer.errors).toBeUndefined();
    expect(answer.status).toBe(200);
    expect(answer.data!.viewer.rateLimit).toMatchObject({ limit: 500, cost: 1, used: 0, remaining: 500 });
  });
});
