import { Timestamp, type Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../domain/job.js';
import type { PageRequest } from '../../ports/page.js';
import { emulatorFirestore } from '../../../test/support/emulators/firestore.js';
import { FirestoreJobStore } from './firestore-job-store.js';
import { MalformedDocumentError } from './firestore/job-documents.js';

/**
 * Documents as the existing OMTX-Hub deployment writes them: ONLY the DESIGN.md fields (no
 * counter shards, no `total`, no `changed_at`, no `results` on a job that has none yet),
 * written with the raw SDK and read through the store.
 */
const SEQUENCE = 'MENFQKVEKIGEGTYGVVYKARNKLTGEVVALKKIRLDTETEGVPSTAIREISLLKELNHPNIVKLL';
const ts = (iso: string) => Timestamp.fromDate(new Date(iso));
const PARAMS = { seed: 7, diffusion_samples: 1, use_msa_server: true };

function legacyJob(id: string, fields: Record<string, unknown>): Record<string, unknown> {
  return {
    job_id: id,
    job_type: 'INDIVIDUAL',
    status: 'pending',
    user_id: 'legacy-user',
    model: 'boltz2',
    created_at: ts('2024-11-02T09:00:00Z'),
    updated_at: ts('2024-11-02T09:00:00Z'),
    input_data: { protein_sequence: SEQUENCE, ligand_smiles: 'CCO', ligand_name: 'ethanol', parameters: PARAMS },
    progress: 0,
    ...fields,
  };
}

/** A legacy batch: parent `b1` (running) with 6 children — 3 completed, 1 failed, 1 running, 1 pending. */
const AFFINITIES = [-1.5, -3.25, null, -0.5];
const CHILD_STATUS = ['completed', 'completed', 'completed', 'failed', 'running', 'pending'] as const;

async function writeLegacy(db: Firestore): Promise<void> {
  const jobs = db.collection('jobs');
  const writes: Promise<unknown>[] = [
    jobs.doc('ind-done').set(
      legacyJob('ind-done', {
        status: 'completed',
        created_at: ts('2024-11-01T08:00:00Z'),
        started_at: ts('2024-11-01T08:01:00Z'),
        completed_at: ts('2024-11-01T08:09:30Z'),
        results: {
          affinity: -2.75,
          confidence: 0.82,
          affinity_probability: 0.66,
          structure_file: 'gs://omtx-hub/jobs/ind-done/structure.cif',
          files: { results: 'jobs/ind-done/results.json' },
        },
        progress: 100,
      }),
    ),
    jobs.doc('ind-failed').set(
      legacyJob('ind-failed', {
        status: 'failed',
        created_at: ts('2024-11-01T10:00:00Z'),
        completed_at: ts('2024-11-01T10:02:00Z'),
        error_message: 'boltz exited with code 1',
      }),
    ),
    jobs.doc('ind-running').set(
      legacyJob('ind-running', {
        status: 'running',
        created_at: ts('2024-11-01T11:00:00Z'),
        started_at: ts('2024-11-01T11:00:05Z'),
      }),
    ),
    jobs.doc('b1').set({
      job_id: 'b1',
      job_type: 'BATCH_PARENT',
      status: 'running',
      user_id: 'legacy-user',
      model: 'boltz2',
      created_at: ts('2024-11-03T12:00:00Z'),
      updated_at: ts('2024-11-03T12:30:00Z'),
      started_at: ts('2024-11-03T12:01:00Z'),
      input_data: { protein_sequence: SEQUENCE, parameters: PARAMS },
      batch_name: 'kinase screen',
      progress: 50,
    }),
    ...CHILD_STATUS.map((status, i) =>
      jobs.doc(`b1-c${i}`).set(
        legacyJob(`b1-c${i}`, {
          job_type: 'BATCH_CHILD',
          status,
          batch_parent_id: 'b1',
          batch_index: i,
          created_at: ts('2024-11-03T12:00:00Z'),
          input_data: {
            protein_sequence: SEQUENCE,
            ligand_smiles: `C${'C'.repeat(i)}O`,
            ligand_name: `lig-${i}`,
            parameters: PARAMS,
          },
          ...(status === 'completed' || status === 'failed'
            ? {
                completed_at: ts('2024-11-03T12:20:00Z'),
                results: AFFINITIES[i] === null ? { confidence: 0.4 } : { affinity: AFFINITIES[i], confidence: 0.5 + i / 10 },
              }
            : {}),
        }),
      ),
    ),
  ];
  await Promise.all(writes);
}

async function all<T>(read: (page: PageRequest) => Promise<{ edges: { node: T; cursor: string }[]; hasNextPage: boolean }>) {
  const nodes: T[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await read({ first: 2, after });
    nodes.push(...page.edges.map((e) => e.node));
    if (!page.hasNextPage) return nodes;
    after = page.edges[page.edges.length - 1]!.cursor;
  }
}

describe('FirestoreJobStore reads documents of the existing OMTX-Hub deployment', () => {
  const { db } = emulatorFirestore();
  const store = new FirestoreJobStore(db);
  beforeAll(() => writeLegacy(db));
  afterAll(() => db.terminate());

  it('reads an individual completed job with its defaults: no usage, no attempts, LEGACY-free, file references as artifacts', async () => {
    const [job] = await store.getJobs(['ind-done']);
    expect(job).toMatchObject({
      id: 'ind-done',
      owner: 'legacy-user',
      kind: 'INDIVIDUAL',
      model: 'BOLTZ2',
      status: 'COMPLETED',
      name: null,
      ligand: { smiles: 'CCO', canonicalSmiles: 'CCO', name: 'ethanol', heavyAtoms: 0, rotatableBonds: 0, structure: null },
      protein: { sequence: SEQUENCE, structure: null, msa: null, pocket: null, name: null },
      parameters: { seed: 7, diffusionSamples: 1, useMsaServer: true, samplingSteps: null, exhaustiveness: null },
      batchId: null,
      batchIndex: null,
      error: null,
      attempts: 0,
      usage: null,
      estimatedGpuMs: 0,
      organizationId: null,
      sharedWithOrganization: false,
      idempotencyKey: null,
      leaseExpiresAt: null,
      createdAt: new Date('2024-11-01T08:00:00Z'),
      startedAt: new Date('2024-11-01T08:01:00Z'),
      completedAt: new Date('2024-11-01T08:09:30Z'),
    });
    expect(job!.result).toMatchObject({
      affinity: { value: -2.75, unit: 'LOG10_IC50_UM', kcalPerMol: null, probabilityBinder: 0.66, heads: [] },
      confidence: { score: 0.82, ptm: null },
      poses: [],
      provenance: {},
    });
    expect(job!.result!.artifacts).toEqual(
      expect.arrayContaining([
        { name: 'structure.cif', key: 'jobs/ind-done/structure.cif', contentType: 'chemical/x-mmcif', sizeBytes: 0 },
        { name: 'results.json', key: 'jobs/ind-done/results.json', contentType: 'application/json', sizeBytes: 0 },
      ]),
    );
  });

  it("reads a failed job's error_message as a non-retryable LEGACY error, and a running one without a lease", async () => {
    const [failed, running] = await store.getJobs(['ind-failed', 'ind-running']);
    expect(failed).toMatchObject({
      status: 'FAILED',
      result: null,
      error: { code: 'LEGACY', message: 'boltz exited with code 1', retryable: false },
    });
    expect(running).toMatchObject({
      status: 'RUNNING',
      result: null,
      leaseExpiresAt: null,
      startedAt: new Date('2024-11-01T11:00:05Z'),
    });
  });

  it('lists the individual jobs newest first, without the batch children', async () => {
    const jobs = await all((page) => store.listJobs('legacy-user', {}, page));
    expect(jobs.map((j) => j.id)).toEqual(['ind-running', 'ind-failed', 'ind-done']);
    const completed = await all((page) => store.listJobs('legacy-user', { status: 'COMPLETED' }, page));
    expect(completed.map((j) => j.id)).toEqual(['ind-done']);
  });

  it('reads a batch without counter shards: counts from its children, total = its children, name from batch_name', async () => {
    const [batch] = await store.getBatches(['b1']);
    expect(batch).toMatchObject({
      id: 'b1',
      name: 'kinase screen',
      model: 'BOLTZ2',
      status: 'RUNNING',
      total: 6,
      counts: { pending: 1, queued: 0, running: 1, completed: 3, failed: 1, cancelled: 0 },
      usage: { runtimeMs: 0, gpuMs: 0, costNanoUsd: 0 },
      protein: { sequence: SEQUENCE },
      maxConcurrent: null,
      webhookUrl: null,
      cancelRequested: false,
      startedAt: new Date('2024-11-03T12:01:00Z'),
      completedAt: null,
    });
    expect(await store.getJobs(['b1'])).toEqual([null]);
    expect(await store.getBatches(['ind-done'])).toEqual([null]);
    const batches = await all((page) => store.listBatches('legacy-user', {}, page));
    expect(batches.map((b) => [b.id, b.total])).toEqual([['b1', 6]]);
  });

  it("lists a legacy batch's children by index and by affinity, those without one (no `results` at all) last by index", async () => {
    const byIndex = await all((page) => store.listBatchJobs('b1', {}, { field: 'INDEX', direction: 'ASC' }, page));
    expect(byIndex.map((j) => j.id)).toEqual(CHILD_STATUS.map((_, i) => `b1-c${i}`));
    expect(byIndex.every((j: Job) => j.kind === 'BATCH_CHILD' && j.batchId === 'b1' && j.protein === null)).toBe(true);
    const ranked = await all((page) => store.listBatchJobs('b1', {}, { field: 'AFFINITY', direction: 'ASC' }, page));
    expect(ranked.map((j) => j.id)).toEqual(['b1-c1', 'b1-c0', 'b1-c3', 'b1-c2', 'b1-c4', 'b1-c5']);
    const backward: string[] = [];
    let before: string | null = null;
    for (;;) {
      const page = await store.listBatchJobs('b1', {}, { field: 'AFFINITY', direction: 'ASC' }, { last: 2, before });
      backward.unshift(...page.edges.map((e) => e.node.id));
      if (!page.hasPreviousPage) break;
      before = page.edges[0]!.cursor;
    }
    expect(backward).toEqual(ranked.map((j) => j.id));
    const worstFirst = await all((page) => store.listBatchJobs('b1', {}, { field: 'AFFINITY', direction: 'DESC' }, page));
    expect(worstFirst.map((j) => j.id)).toEqual(['b1-c3', 'b1-c0', 'b1-c1', 'b1-c2', 'b1-c4', 'b1-c5']);
    const completedRanked = await all((page) =>
      store.listBatchJobs('b1', { status: 'COMPLETED' }, { field: 'AFFINITY', direction: 'ASC' }, page),
    );
    expect(completedRanked.map((j) => j.id)).toEqual(['b1-c1', 'b1-c0', 'b1-c2']);
    const children = await all((page) => store.listJobs('legacy-user', { batchId: 'b1' }, page));
    expect(children).toHaveLength(6);
  });

  it('keeps the best and mean affinity of the completed legacy children (the failed one does not count)', async () => {
    expect(await store.batchStats('b1')).toEqual({ withAffinity: 2, bestAffinity: -3.25, meanAffinity: (-1.5 + -3.25) / 2 });
  });

  it('takes over a legacy child: a claim and completion move it and the batch counts stay exact', async () => {
    const claim = await store.claim('b1-c5', new Date('2025-01-01T00:00:00Z'), 60_000);
    expect(claim).toMatchObject({ claimed: true, attempt: 1 });
    const [batch] = await store.getBatches(['b1']);
    expect(batch!.counts).toMatchObject({ pending: 0, running: 2 });
  });

  it('refuses a malformed document with an error naming its path and the field', async () => {
    await db
      .collection('jobs')
      .doc('broken-job')
      .set(legacyJob('broken-job', { status: 'exploded' }));
    await db
      .collection('jobs')
      .doc('broken-date')
      .set(legacyJob('broken-date', { created_at: 'last tuesday' }));
    await expect(store.getJobs(['broken-job'])).rejects.toThrow(MalformedDocumentError);
    await expect(store.getJobs(['broken-job'])).rejects.toThrow(/jobs\/broken-job.*status/);
    await expect(store.getJobs(['broken-date'])).rejects.toThrow(/jobs\/broken-date.*created_at/);
  });
});
