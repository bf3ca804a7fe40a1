import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { startTestWorker, type TestWorker } from '../support/test-worker.js';
import { CDK2_SEQUENCE, ligands, vinaProtein } from '../support/inputs.js';
import {
  BatchCountDocument,
  EstimateBatchCostDocument,
  QuotaSubmitPredictionDocument,
  RetryFailedJobsDocument,
  ViewerQuotasDocument,
  WebhookSubmitBatchDocument,
  type SubmitBatchInput,
  type SubmitPredictionInput,
} from '../../schema/__generated__/graphql.js';

const vinaPrediction = (): SubmitPredictionInput => ({ model: 'VINA', protein: vinaProtein(), ligand: ligands(1)[0]! });
const vinaBatch = (n: number): SubmitBatchInput => ({
  model: 'VINA',
  name: 'screen',
  protein: vinaProtein(),
  ligands: ligands(n),
});
const boltzBatch = (n: number): SubmitBatchInput => ({
  model: 'BOLTZ2',
  name: 'boltz screen',
  protein: { name: 'CDK2', sequence: CDK2_SEQUENCE },
  ligands: ligands(n),
  parameters: { useMsaServer: false },
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

/** Ends `jobId` as an attempt would: claimed, then COMPLETED (or FAILED) having recorded `gpuMs` of GPU time. */
async function runOnce(server: TestServer, jobId: string, gpuMs: number, outcome: 'COMPLETED' | 'FAILED' = 'COMPLETED') {
  const now = new Date();
  await server.app.jobs.markQueued([jobId], now);
  const claim = await server.app.jobs.claim(jobId, now, 60_000);
  if (!claim.claimed) throw new Error(`not claimed: ${claim.reason}`);
  const usage = { runtimeMs: gpuMs, gpuMs, costNanoUsd: 0 };
  if (outcome === 'FAILED') {
    await server.app.jobs.fail(jobId, claim.attempt, { code: 'BAD_INPUT', message: 'bad', retryable: false }, now, usage);
    return;
  }
  const result = { affinity: null, confidence: null, poses: [], artifacts: [], provenance: {} };
  await server.app.jobs.complete(jobId, claim.attempt, result, now, usage);
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

    it('refuses a batch over the largest batch before parsing a single ligand', async () => {
      const services = server.app.services;
      const parse = services.chemistryForBatch;
      let parsed = 0;
      services.chemistryForBatch = (smiles) => {
        parsed += smiles.length;
        return parse(smiles);
      };
      try {
        // 5,000 ligands that are not SMILES: parsed first, they would be BAD_USER_INPUT.
        const input = { ...vinaBatch(0), ligands: Array.from({ length: 5_000 }, (_, i) => ({ smiles: `not a smiles ${i}` })) };
        const started = performance.now();
        const over = await server.request(WebhookSubmitBatchDocument, { input });
        expectQuotaError(over, 'batchSize', 3, 5_000);
        expect(parsed).toBe(0);
        expect(performance.now() - started).toBeLessThan(2_000);
        expect((await countRecords(server)).batches).toBe(1);
      } finally {
        services.chemistryForBatch = parse;
      }
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

  describe('GPU-seconds per month (estimated at submit, counted until the job ends)', () => {
    const LIMIT = 1_000;
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ OMTX_QUOTA_GPU_SECONDS_PER_MONTH: String(LIMIT) });
    });
    afterAll(() => server.close());

    async function estimateOf(ligandCount: number): Promise<number> {
      const { data } = await server.request(EstimateBatchCostDocument, {
        input: { model: 'BOLTZ2', ligandCount, proteinLength: CDK2_SEQUENCE.length, parameters: { useMsaServer: false } },
      });
      return data!.estimateBatchCost.gpuSeconds;
    }

    it("accepts a BOLTZ2 job whose estimate fits the month's remaining GPU time exactly, then counts it before it runs", async () => {
      const estimated = await estimateOf(1);
      expect(estimated).toBeGreaterThan(0);

      // A VINA job uses no GPU: it is always admitted.
      const vina = await server.request(QuotaSubmitPredictionDocument, { input: vinaPrediction() });
      expect(vina.errors).toBeUndefined();

      // Bill that job (submitted this month) so exactly `estimated` seconds remain, rounded down to the ms.
      const usedMs = Math.floor((LIMIT - estimated) * 1000);
      await runOnce(server, vina.data!.submitPrediction.job.id, usedMs);
      expect((await quotas(server)).gpuSecondsPerMonth).toMatchObject({ limit: LIMIT, used: usedMs / 1000 });

      const fits = await server.request(QuotaSubmitPredictionDocument, { input: boltzPrediction() });
      expect(fits.errors).toBeUndefined();
      // Not run yet (no worker), yet its estimate counts: the month is used up.
      const reserved = usedMs + Math.ceil(estimated * 1000);
      expect((await quotas(server)).gpuSecondsPerMonth).toMatchObject({ used: reserved / 1000, remaining: 0 });

      const before = await countRecords(server);
      const over = await server.request(QuotaSubmitPredictionDocument, { input: boltzPrediction() });
      expectQuotaError(over, 'gpuSecondsPerMonth', LIMIT, reserved / 1000);
      expect(await countRecords(server)).toEqual(before);

      // Cancelled before it ran, the job gives its estimate back.
      await server.app.jobs.cancelJob('local', fits.data!.submitPrediction.job.id, new Date());
      expect((await server.request(QuotaSubmitPredictionDocument, { input: boltzPrediction() })).errors).toBeUndefined();
    });
  });

  describe('GPU-seconds per month across batches not yet run', () => {
    const LIMIT = 1_000;
    const LIGANDS = 10;
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ OMTX_QUOTA_GPU_SECONDS_PER_MONTH: String(LIMIT) });
    });
    afterAll(() => server.close());

    it("refuses a second BOLTZ2 batch that would fit only if the first's estimate were ignored", async () => {
      const { data } = await server.request(EstimateBatchCostDocument, {
        input: {
          model: 'BOLTZ2',
          ligandCount: LIGANDS,
          proteinLength: CDK2_SEQUENCE.length,
          parameters: { useMsaServer: false },
        },
      });
      const estimated = data!.estimateBatchCost.gpuSeconds;
      // One batch fits the month, two do not.
      expect(estimated).toBeLessThanOrEqual(LIMIT);
      expect(2 * estimated).toBeGreaterThan(LIMIT);

      const first = await server.request(WebhookSubmitBatchDocument, { input: boltzBatch(LIGANDS) });
      expect(first.errors).toBeUndefined();
      expect((await quotas(server)).gpuSecondsPerMonth!.used).toBe(Math.ceil(estimated * 1000) / 1000);

      const second = await server.request(WebhookSubmitBatchDocument, { input: boltzBatch(LIGANDS) });
      expectQuotaError(second, 'gpuSecondsPerMonth', LIMIT, Math.ceil(estimated * 1000) / 1000);
      expect(await countRecords(server)).toEqual({ jobs: LIGANDS, batches: 1 });
    });
  });

  describe('retryFailedJobs', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ OMTX_QUOTA_CONCURRENT_JOBS: '3', OMTX_QUOTA_PREDICTIONS_PER_DAY: '3' });
    });
    afterAll(() => server.close());

    it('needs a place for each failed child, refuses with QUOTA_EXCEEDED changing nothing, and is no new submission', async () => {
      const submitted = await server.request(WebhookSubmitBatchDocument, { input: vinaBatch(2) });
      expect(submitted.errors).toBeUndefined();
      const batchId = submitted.data!.submitBatch.batch.id;
      const children = await server.app.jobs.listBatchJobs(batchId, {}, { field: 'INDEX', direction: 'ASC' }, { first: 10 });
      for (const { node } of children.edges) await runOnce(server, node.id, 0, 'FAILED');
      const open = await server.request(QuotaSubmitPredictionDocument, { input: vinaPrediction() });
      expect(open.errors).toBeUndefined();

      // 1 open + 2 retried = 3: at the limit, but the day's 3 submissions are used too.
      const busy = await server.request(QuotaSubmitPredictionDocument, { input: vinaPrediction() });
      expectQuotaError(busy, 'predictionsPerDay', 3, 3);

      // Another open job (written directly, the day's quota being used up) leaves one place for two.
      const now = new Date();
      const [spare] = await server.app.jobs.getJobs([open.data!.submitPrediction.job.id]);
      await server.app.jobs.createJob({ ...spare!, id: `${spare!.id}-2`, status: 'PENDING', createdAt: now, updatedAt: now });
      const refused = await server.request(RetryFailedJobsDocument, { batchId });
      expectQuotaError(refused, 'concurrentJobs', 3, 2);
      const [unchanged] = await server.app.jobs.getBatches([batchId]);
      expect(unchanged).toMatchObject({ status: 'FAILED', counts: { failed: 2, queued: 0 } });

      await server.app.jobs.cancelJob('local', `${spare!.id}-2`, new Date());
      const retried = await server.request(RetryFailedJobsDocument, { batchId });
      expect(retried.errors).toBeUndefined();
      expect(retried.data!.retryFailedJobs.progress).toMatchObject({ total: 2, failed: 0 });
      expect((await quotas(server)).concurrentJobs).toMatchObject({ used: 3, remaining: 0 });
    });
  });
});
