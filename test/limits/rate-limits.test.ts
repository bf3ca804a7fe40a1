import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchesDocument,
  ModelNamesDocument,
  SubmitBatchDocument,
  ViewerRateLimitDocument,
} from '../../schema/__generated__/graphql.js';
import { ligands, vinaProtein } from '../support/inputs.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Resolves after `seconds`: the windows under test are real time. */
const after = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

describe('rate limits per user per field', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ OMTX_RATE_SUBMIT_BATCH: '3', OMTX_RATE_READ: '4', OMTX_RATE_WINDOW_SECONDS: '2' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers the call over the limit with 429, RATE_LIMITED, retryAfterSeconds and Retry-After, and runs nothing', async () => {
    const input = { model: 'VINA' as const, name: 'screen', protein: vinaProtein(), ligands: ligands(2) };
    const answers = [];
    for (let i = 0; i < 4; i++)
      answers.push(await server.request(SubmitBatchDocument, { input: { ...input, name: `screen ${i}` } }));
    for (const a of answers.slice(0, 3)) {
      expect(a.status).toBe(200);
      expect(a.errors).toBeUndefined();
    }
    const refused = answers[3]!;
    expect(refused.status).toBe(429);
    expect(refused.errors).toHaveLength(1);
    expect(refused.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(refused.errors![0]!.message).toMatch(/at most 3 submitBatch calls per 2 s/);
    const retryAfter = refused.errors![0]!.extensions!.retryAfterSeconds as number;
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);
    expect(refused.headers.get('retry-after')).toBe(String(retryAfter));
    // The refused submission wrote nothing.
    const batches = await server.request(BatchesDocument, { first: 10 });
    expect(batches.data?.batches.edges.map((e) => e.node.name).sort()).toEqual(['screen 0', 'screen 1', 'screen 2']);
  });

  it('counts each field on its own and lets calls through again after Retry-After', async () => {
    const reads = [];
    for (let i = 0; i < 5; i++) reads.push(await server.request(ModelNamesDocument));
    expect(reads.map((r) => r.status)).toEqual([200, 200, 200, 200, 429]);
    // Another read field has its own count.
    expect((await server.request(ViewerRateLimitDocument)).status).toBe(200);
    const retryAfter = Number(reads[4]!.headers.get('retry-after'));
    await after(retryAfter);
    const again = await server.request(ModelNamesDocument);
    expect(again.status).toBe(200);
    expect(again.errors).toBeUndefined();
  });

  it('does not count refused calls, so a client retrying too early is not locked out longer', async () => {
    await after(2.1);
    for (let i = 0; i < 4; i++) await server.request(ModelNamesDocument);
    for (let i = 0; i < 10; i++) expect((await server.request(ModelNamesDocument)).status).toBe(429);
    await after(2.1);
    expect((await server.request(ModelNamesDocument)).status).toBe(200);
  });

  it('rate-limits operations over WebSocket too', async () => {
    await after(2.1);
    const client = server.wsClient();
    const results = [];
    for (let i = 0; i < 5; i++) {
      results.push(
        await new Promise<{ errors?: readonly { extensions?: Record<string, unknown> }[] }>((resolve, reject) => {
          let result: { errors?: readonly { extensions?: Record<string, unknown> }[] } = {};
          client.subscribe(
            { query: '{ models { name } }' },
            { next: (r) => void (result = r), error: reject, complete: () => resolve(result) },
          );
        }),
      );
    }
    expect(results.slice(0, 4).every((r) => r.errors === undefined)).toBe(true);
    expect(results[4]!.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
  });
});
