import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { startTestWorker, type TestWorker } from '../support/test-worker.js';
import { CDK2_SEQUENCE, ligands, vinaProtein } from '../support/inputs.js';
import {
  BatchCountDocument,
  EstimateBatchCostDocument,
  QuotaSubmitPredictionDocument,
  ViewerQuotasDocument,
  WebhookSubmitBatchDocument,
  type SubmitBatchInput,
  type SubmitPredictionInput,
} from '../../schema/__generated__/graphql.js';

/** These tests submit more often than the per-minute rate limits allow; those have their own tests. */
const NO_RATE_LIMITS = { OMTX_RATE_SUBMIT_BATCH: '0', OMTX_RATE_SUBMIT_PREDICTION: '0' };

const vinaPrediction = (): SubmitPredictionInput => ({ model: 'VINA', protein: vinaProtein(), ligand: ligands(1)[0]! });
const vinaBatch = (n: number): SubmitBatchInput => ({
  model: 'VINA',
  name: 'screen',
  protein: vinaProtein(),
  ligands: ligands(n),
});
const boltzPrediction = (): SubmitPredictionInput => ({
  model: 'BOLTZ2',
  protein: { name: 'CDK2', sequence: CDK2_SEQUENCE },
  ligand: ligands(1)[0]!,
  parameters: { useMsaServer: false },
});

async function quotas(server: TestServer) {
  const { data, errors } = await server.request(ViewerQuotasDocument, {});
  expect(errors).toBeUndefined();
  return Object.fromEntries(data!.viewer.quotas.filter((q) => q.scope === 'USER').map((q) => [q.name, q]));
}

async function countRecords(server: TestServer) {
  const open = await server.app.jobs.countJobsByStatus();
  const { data } = await server.request(BatchCountDocument, {});
  return { jobs: Object.values(open).reduce((a, b) => a + b, 0), batches: data!.batches.edges.length };
}

function expectQuotaError(
  response: { status: number; errors?: { extensions?: Record<string, unknown> }[] | undefined },
  quota: string,
  limit: number,
  used: number,
) {
  expect(response.errors).toHaveLength(1);
  expect(response.errors![0]!.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', quota, limit, used });
}

describe('quotas over HTTP', () => {
  describe('concurrent jobs and batch size (no worker: every job stays open)', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({
        ...NO_RATE_LIMITS,
        OMTX_QUOTA_CONCURRENT_JOBS: '4',
        OMTX_QUOTA_MAX_BATCH_SIZE: '3',
      });
    });
    afterAll(() => server.close());

    it('shows the limits and zero usage before anything was submitted; unset limits are null', async () => {
      const q = await quotas(server);
      expect(q.concurrentJobs).toMatchObject({ limit: 4, used: 0, remaining: 4, resetsAt: null });
      expect(q.batchSize).toMatchObject({ limit: 3, used: null, remaining: null });
      expect(q.predictionsPerDay).toMatchObject({ limit: null, used: 0, remaining: null });
      expect(q.gpuSecondsPerMonth).toMatchObject({ limit: null, used: 0 });
    });

    it('refuses a batch one ligand over the largest batch, writing nothing, and accepts one at it', async () => {
      const over = await server.request(WebhookSubmitBatchDocument, { input: vinaBatch(4) });
      expectQuotaError(over, 'batchSize', 3, 4);
      expect(over.errors![0]!.message).toMatch(/at most 3 ligands; this one holds 4/);
      expect(await countRecords(server)).toEqual({ jobs: 0, batches: 0 });

      const atLimit = await server.request(WebhookSubmitBatchDocument, { input: vinaBatch(3) });
      expect(atLimit.errors).toBeUndefined();
      expect(atLimit.data!.submitBatch.batch.progress.total).toBe(3);
    });

    it('accepts the job that reaches the concurrent limit and refuses the next, writing nothing', async () => {
      const fourth = await server.request(QuotaSubmitPredictionDocument, { input: vinaPrediction() });
      expect(fourth.errors).toBeUndefined();
      expect((await quotas(server)).concurrentJobs).toMatchObject({ used: 4, remaining: 0 });

      const fifth = await server.request(QuotaSubmitPredictionDocument, { input: vinaPrediction() });
      expectQuotaError(fifth, 'concurrentJobs', 4, 4);
      const batch = await server.request(WebhookSubmitBatchDocument, { input: vinaBatch(1) });
      expectQuotaError(batch, 'concurrentJobs', 4, 4);
      expect(await countRecords(server)).toEqual({ jobs: 4, batches: 1 });
      expect((await quotas(server)).concurrentJobs).toMatchObject({ used: 4 });
    });

    it('frees a place when a job ends', async () => {
      const { data } = await server.request(BatchCountDocument, {});
      const jobs = await server.app.jobs.listJobs('local', {}, { first: 1 });
      await server.app.jobs.cancelJob('local', jobs.edges[0]!.node.id, new Date());
      expect(data!.batches.edges).toHaveLength(1);
      const again = await server.request(QuotaSubmitPredictionDocument, { input: vinaPrediction() });
      expect(again.errors).toBeUndefined();
    });
  });

  describe('predictions per day (a worker finishes every job)', () => {
    let server: TestServer;
    let worker: TestWorker;
    beforeAll(async () => {
      worker = await startTestWorker(() => server.app.jobs);
      server = await startTestServer({
        ...NO_RATE_LIMITS,
        OMTX_WORKER_URL: worker.url,
        OMTX_QUOTA_PREDICTIONS_PER_DAY: '5',
      });
    });
    afterAll(async () => {
      await server.close();
      await worker.close();
    });

    it('counts batch children, accepts the submission that reaches the limit and refuses the one past it', async () => {
      expect((await server.request(WebhookSubmitBatchDocument, { input: vinaBatch(3) })).errors).toBeUndefined();
      expect((await server.request(QuotaSubmitPredictionDocument, { input: vinaPrediction() })).errors).toBeUndefined();
      // 4 used: a batch of 2 is one over, a prediction is exactly at the limit.
      expectQuotaError(await server.request(WebhookSubmitBatchDocument, { input: vinaBatch(2) }), 'predictionsPerDay', 5, 4);
      expect((await server.request(QuotaSubmitPredictionDocument, { input: vinaPrediction() })).errors).toBeUndefined();
      expectQuotaError(
        await server.request(QuotaSubmitPredictionDocument, { input: vinaPrediction() }),
        'predictionsPerDay',
        5,
        5,
      );
      expect(await countRecords(server)).toEqual({ jobs: 5, batches: 1 });

      const q = (await quotas(server)).predictionsPerDay!;
      const midnight = new Date();
      midnight.setUTCHours(24, 0, 0, 0);
      expect(q).toMatchObject({ limit: 5, used: 5, remaining: 0, resetsAt: midnight.toISOString() });
    });

    it('refuses a new idempotency key once the quota is used up: a key is no way around it', async () => {
      const first = await server.request(QuotaSubmitPredictionDocument, { input: { ...vinaPrediction(), idempotencyKey: 'k' } });
      expectQuotaError(first, 'predictionsPerDay', 5, 5);
      expect((await countRecords(server)).jobs).toBe(5);
    });
  });

  describe('GPU-seconds per month (estimated at submit)', () => {
    const LIMIT = 1_000;
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({
        ...NO_RATE_LIMITS,
        OMTX_QUOTA_GPU_SECONDS_PER_MONTH: String(LIMIT),
      });
    });
    afterAll(() => server.close());

    it("accepts a BOLTZ2 job whose estimate fits the month's remaining GPU time exactly, and refuses it 1 ms over", async () => {
      const { data: estimate } = await server.request(EstimateBatchCostDocument, {
        input: { model: 'BOLTZ2', ligandCount: 1, proteinLength: CDK2_SEQUENCE.length, parameters: { useMsaServer: false } },
      });
      const estimated = estimate!.estimateBatchCost.gpuSeconds;
      expect(estimated).toBeGreaterThan(0);

      // A VINA job uses no GPU: it is always admitted.
      const vina = await server.request(QuotaSubmitPredictionDocument, { input: vinaPrediction() });
      expect(vina.errors).toBeUndefined();

      // Bill that job (submitted this month) so exactly `estimated` seconds remain, rounded down to the ms.
      const usedMs = Math.floor((LIMIT - estimated) * 1000);
      const now = new Date();
      const job = vina.data!.submitPrediction.job;
      const claim = await server.app.jobs.claim(job.id, now, 60_000);
      if (!claim.claimed) throw new Error(`not claimed: ${claim.reason}`);
      await server.app.jobs.complete(
        job.id,
        claim.attempt,
        { affinity: null, confidence: null, poses: [], artifacts: [], provenance: {} },
        now,
        {
          runtimeMs: usedMs,
          gpuMs: usedMs,
          costNanoUsd: 0,
        },
      );
      expect((await quotas(server)).gpuSecondsPerMonth).toMatchObject({ limit: LIMIT, used: usedMs / 1000 });

      const fits = await server.request(QuotaSubmitPredictionDocument, { input: boltzPrediction() });
      expect(fits.errors).toBeUndefined();

      // The same job again, with 2 ms more billed: over by a hair, refused, nothing written.
      const again = await server.request(QuotaSubmitPredictionDocument, { input: vinaPrediction() });
      const extra = again.data!.submitPrediction.job.id;
      const claim2 = await server.app.jobs.claim(extra, now, 60_000);
      if (!claim2.claimed) throw new Error(`not claimed: ${claim2.reason}`);
      await server.app.jobs.complete(
        extra,
        claim2.attempt,
        { affinity: null, confidence: null, poses: [], artifacts: [], provenance: {} },
        now,
        {
          runtimeMs: 2,
          gpuMs: 2,
          costNanoUsd: 0,
        },
      );
      const before = await countRecords(server);
      const over = await server.request(QuotaSubmitPredictionDocument, { input: boltzPrediction() });
      expectQuotaError(over, 'gpuSecondsPerMonth', LIMIT, (usedMs + 2) / 1000);
      expect(await countRecords(server)).toEqual(before);
    });
  });
});
