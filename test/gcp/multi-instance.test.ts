import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  batchChildren,
  cheapVinaBatch,
  dataDirsCleanedAfterAll,
  startOmtxApi,
  startOmtxWorker,
  submitBatch,
  subscribe,
  type OmtxApi,
  type OmtxWorker,
} from '../support/omtx-process.js';
import { startGcpTestBackend, type GcpTestBackend } from '../support/emulators/gcp-backend.js';
import { BatchExportDocument, BatchProgressDocument, ModelsDocument } from '../../schema/__generated__/graphql.js';

// OMTX-Hub as it runs on Google Cloud, with the emulators standing in for the services: two
// `omtx serve` instances and one `omtx worker`, all with OMTX_BACKEND=gcp, share one Firestore
// project and one bucket; tasks go through Cloud Tasks (the gRPC fake, which POSTs them to the
// worker as the service does, each one twice). Nothing but configuration differs from the
// embedded default.

const newDataDir = dataDirsCleanedAfterAll();

describe('two api instances and a worker on the Google Cloud adapters', () => {
  let backend: GcpTestBackend;
  let worker: OmtxWorker;
  let a: OmtxApi;
  let b: OmtxApi;

  beforeAll(async () => {
    backend = await startGcpTestBackend({ deliverEveryTaskTwice: true });
    worker = await startOmtxWorker(newDataDir(), backend.env);
    const apiEnv = { ...backend.env, OMTX_WORKER_URL: worker.url, OMTX_SHARD_SIZE: '2' };
    [a, b] = await Promise.all([startOmtxApi(newDataDir(), apiEnv), startOmtxApi(newDataDir(), apiEnv)]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await worker?.stop();
    await backend?.close();
  });

  it('runs a VINA batch submitted through B to the end, and a subscription on A sees every child change', async () => {
    const id = await submitBatch(b, cheapVinaBatch('two instances', 4));
    const events = await subscribe(a.wsClient(), BatchProgressDocument, { id }).done;

    const last = events.at(-1)!.batchProgress;
    expect(last.batch.status).toBe('COMPLETED');
    expect(last.progress).toMatchObject({ total: 4, completed: 4, pending: 0, queued: 0, running: 0, failed: 0 });
    const { jobs } = await batchChildren(a, id);
    const seen = new Set(events.flatMap((e) => e.batchProgress.changedJobs.map((j) => j.id)));
    expect([...seen].sort()).toEqual(jobs.map((j) => j.id).sort());
    // The first event is the state at subscribe time, so progress went through more than one step.
    expect(events.length).toBeGreaterThan(1);
  }, 240_000);

  it('runs each job once although Cloud Tasks delivered every task twice', async () => {
    const id = await submitBatch(a, cheapVinaBatch('delivered twice', 4));
    await subscribe(b.wsClient(), BatchProgressDocument, { id }).done;
    const { batch, jobs } = await batchChildren(b, id);
    expect(batch.status).toBe('COMPLETED');
    expect(jobs.map((j) => [j.status, j.attempts])).toEqual(jobs.map(() => ['COMPLETED', 1]));
    expect(jobs.every((j) => j.result?.affinity?.unit === 'KCAL_PER_MOL')).toBe(true);
    // The worker answered the second copies 2xx without running them.
    const done = worker.logs.withMessage('task done');
    expect(done.some((r) => Number(r.skipped) > 0)).toBe(true);
  }, 240_000);

  it('serves the export from the bucket through a V4 signed URL, made by one instance and fetched as the other ranks it', async () => {
    const id = await submitBatch(b, cheapVinaBatch('export', 2));
    await subscribe(a.wsClient(), BatchProgressDocument, { id }).done;
    const artifact = (await a.request(BatchExportDocument, { id, format: 'CSV' })).data!.batch!.export!;
    const url = new URL(artifact.url);
    expect(url.searchParams.get('X-Goog-Algorithm')).toBe('GOOG4-RSA-SHA256');
    const response = await fetch(artifact.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = (await response.text()).trim().split('\n');
    expect(rows).toHaveLength(3);
    // B finds the same file (the manifest is in the bucket, not in A's memory).
    const again = (await b.request(BatchExportDocument, { id, format: 'CSV' })).data!.batch!.export!;
    expect(new URL(again.url).pathname).toBe(url.pathname);
  }, 240_000);

  it('lists the models from the report the worker stored when it started, on either instance', async () => {
    for (const api of [a, b]) {
      const { data } = await api.request(ModelsDocument, {});
      const vina = data!.models.find((m) => m.name === 'VINA')!;
      expect(vina).toMatchObject({ available: true, unavailableReason: null });
      const boltz = data!.models.find((m) => m.name === 'BOLTZ2')!;
      // No GPU or Boltz weights here: the worker said why, and the api repeats it.
      expect(boltz.available).toBe(false);
      expect(boltz.unavailableReason).not.toMatch(/could not be read/);
    }
  });
});
