import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { startTestWorker, type TestWorker } from '../support/test-worker.js';
import { LIGANDS, vinaProtein } from '../support/inputs.js';
import {
  CancelJobDocument,
  JobDocument,
  JobsDocument,
  type JobsQuery,
  type JobsQueryVariables,
  ModelsDocument,
  NodeDocument,
  SubmitPredictionDocument,
} from '../../schema/__generated__/graphql.js';

describe('single predictions over HTTP', () => {
  let server: TestServer;
  let worker: TestWorker;

  beforeAll(async () => {
    worker = await startTestWorker(() => server.app.jobs);
    server = await startTestServer({ OMTX_WORKER_URL: worker.url });
  });
  afterAll(async () => {
    await server.close();
    await worker.close();
  });

  it('submits a VINA prediction, canonicalizes its SMILES, and the worker completes it', async () => {
    const submitted = await server.request(SubmitPredictionDocument, {
      input: { model: 'VINA', protein: vinaProtein(), ligand: { smiles: 'OC(=O)c1ccccc1OC(C)=O', name: 'aspirin' } },
    });
    expect(submitted.errors).toBeUndefined();
    const job = submitted.data!.submitPrediction.job;
    expect(job.kind).toBe('INDIVIDUAL');
    expect(job.ligand.canonicalSmiles).toBe('CC(=O)Oc1ccccc1C(=O)O');
    expect(['PENDING', 'QUEUED', 'RUNNING', 'COMPLETED']).toContain(job.status);

    await expect.poll(async () => (await server.request(JobDocument, { id: job.id })).data?.job?.status).toBe('COMPLETED');
    const done = (await server.request(JobDocument, { id: job.id })).data!.job!;
    expect(done.result?.affinity?.unit).toBe('KCAL_PER_MOL');
    expect(done.attempts).toBe(1);
    expect(done.runtimeSeconds).toBeGreaterThanOrEqual(0);
    expect(worker.deliveries.some((d) => d.payload.jobIds.includes(job.id) && d.headers['x-cloudtasks-taskname'])).toBe(true);
  });

  it('returns the first job for a repeated idempotency key', async () => {
    const input = { model: 'VINA' as const, protein: vinaProtein(), ligand: LIGANDS[2]!, idempotencyKey: 'same-key' };
    const first = await server.request(SubmitPredictionDocument, { input });
    const second = await server.request(SubmitPredictionDocument, { input });
    expect(second.data!.submitPrediction.job.id).toBe(first.data!.submitPrediction.job.id);
  });

  it('lists individual jobs newest first and pages by cursor without repeats', async () => {
    for (const ligand of LIGANDS) {
      await server.request(SubmitPredictionDocument, { input: { model: 'VINA', protein: vinaProtein(), ligand } });
    }
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: Awaited<ReturnType<typeof server.request<JobsQuery, JobsQueryVariables>>> = await server.request(JobsDocument, {
        first: 2,
        after,
      });
      expect(page.errors).toBeUndefined();
      seen.push(...page.data!.jobs.edges.map((e) => e.node.id));
      if (!page.data!.jobs.pageInfo.hasNextPage) break;
      after = page.data!.jobs.pageInfo.endCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(LIGANDS.length + 2);
    const all = (await server.request(JobsDocument, { first: 100 })).data!.jobs.edges.map((e) => e.node);
    const times = all.map((j) => Date.parse(j.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('finds a job through node(id) and answers null for an unknown id', async () => {
    const { data } = await server.request(JobsDocument, { first: 1 });
    const id = data!.jobs.edges[0]!.node.id;
    expect((await server.request(NodeDocument, { id })).data!.node).toEqual({ __typename: 'Job', id });
    expect((await server.request(NodeDocument, { id: 'no-such-id' })).data!.node).toBeNull();
  });

  it('refuses to cancel a finished job with CONFLICT, and NOT_FOUND for an unknown one', async () => {
    const { data } = await server.request(JobsDocument, { first: 100, filter: { status: 'COMPLETED' } });
    const id = data!.jobs.edges[0]!.node.id;
    const finished = await server.request(CancelJobDocument, { id });
    expect(finished.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const unknown = await server.request(CancelJobDocument, { id: 'nope' });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('reports which models the worker can run', async () => {
    const { data } = await server.request(ModelsDocument);
    const vina = data!.models.find((m) => m.name === 'VINA')!;
    expect(vina.available).toBe(true);
    const boltz = data!.models.find((m) => m.name === 'BOLTZ2')!;
    expect(boltz).toMatchObject({ available: false, unavailableReason: 'no GPU in tests' });
  });
});
