/**
 * `submitBatch` over HTTP with 10,000 and 100,000 varied drug-like ligands: wall time from
 * sending the request to the full response (RDKit validation on worker threads, the one
 * store transaction, queueing in shards, GraphQL), and the api process's peak RSS (VmHWM).
 * Baseline: the same batch and child rows inserted as one plain SQLite transaction with
 * prepared statements in this process (no validation, no queue, no GraphQL).
 * Run: npm run bench -- submit
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomUUID } from 'node:crypto';
import { openSqlite } from '../src/adapters/local/sqlite/database.js';
import { SqliteJobStore } from '../src/adapters/local/sqlite-job-store.js';
import { batchToRow, jobToRow } from '../src/adapters/local/sqlite/job-rows.js';
import { pendingBatch, pendingJob, type Batch, type Job } from '../src/domain/job.js';
import { buildParameters, buildProtein } from '../src/ports/testing/records.js';
import { drugLikeSmiles } from './support/smiles.js';
import { gql, startHub } from './support/processes.js';
import { fmt, type Figure } from './support/stats.js';
import { runIfMain, type BenchReport } from './support/report.js';

const SUBMIT = `mutation Submit($input: SubmitBatchInput!) {
  submitBatch(input: $input) { batch { id status progress { total pending queued } } skipped { index } }
}`;

const PROTEIN = buildProtein({ structure: null, pocket: null });

function input(smiles: string[]) {
  return {
    model: 'BOLTZ2',
    name: `bench ${smiles.length}`,
    protein: { name: PROTEIN.name, sequence: PROTEIN.sequence },
    ligands: smiles.map((s, i) => ({ smiles: s, name: `L${i}` })),
    // Single-sequence mode: the benchmark measures submission, not an MSA search.
    parameters: { useMsaServer: false },
    onInvalidLigand: 'SKIP',
  };
}

interface HubRun {
  seconds: number;
  peakRssMiB: number;
  idleRssMiB: number;
  children: number;
  skipped: number;
  bodyMiB: number;
}

/** A fresh api per size, so VmHWM is that submission's peak (after a 1,000-ligand warm-up). */
async function submitOverHttp(count: number): Promise<HubRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'omtx-bench-submit-'));
  const hub = await startHub(dataDir);
  try {
    await gql(hub.url, SUBMIT, { input: input(drugLikeSmiles(1_000)) });
    const idleRssMiB = hub.rssMiB();
    const body = JSON.stringify({ query: SUBMIT, variables: { input: input(drugLikeSmiles(count)) } });
    const started = performance.now();
    const response = await fetch(`${hub.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const result = (await response.json()) as {
      data?: { submitBatch: { batch: { progress: { total: number } }; skipped: unknown[] } };
      errors?: unknown[];
    };
    const seconds = (performance.now() - started) / 1000;
    if (!result.data) throw new Error(`submitBatch of ${count} failed: ${JSON.stringify(result.errors).slice(0, 2000)}`);
    return {
      seconds,
      peakRssMiB: hub.peakRssMiB(),
      idleRssMiB,
      children: result.data.submitBatch.batch.progress.total,
      skipped: result.data.submitBatch.skipped.length,
      bodyMiB: Buffer.byteLength(body) / 2 ** 20,
    };
  } finally {
    await hub.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The same rows as submitBatch stores, in one transaction of prepared INSERTs, rows built inside the timing. */
function plainInsert(count: number): number {
  const dataDir = mkdtempSync(join(tmpdir(), 'omtx-bench-insert-'));
  const db = openSqlite(join(dataDir, 'omtx.sqlite'));
  try {
    new SqliteJobStore(db); // schema
    const smiles = drugLikeSmiles(count);
    const started = performance.now();
    const now = new Date();
    const parameters = buildParameters({
      seed: null,
      diffusionSamples: null,
      samplingSteps: null,
      recyclingSteps: null,
      useMsaServer: null,
    });
    const batch: Batch = pendingBatch(
      {
        id: randomUUID(),
        owner: 'local',
        name: `bench ${count}`,
        model: 'BOLTZ2',
        protein: PROTEIN,
        parameters,
        maxConcurrent: null,
        webhookUrl: null,
        idempotencyKey: null,
      },
      count,
      now,
    );
    const insertBatch = db.prepare(
      `INSERT INTO batches (id, owner, name, model, status, protein, parameters, max_concurrent, total, pending, queued,
         running, completed, failed, cancelled, cancel_requested, created_at, updated_at, started_at, completed_at, idempotency_key)
       VALUES (@id, @owner, @name, @model, @status, @protein, @parameters, @max_concurrent, @total, @pending, @queued,
         @running, @completed, @failed, @cancelled, @cancel_requested, @created_at, @updated_at, @started_at, @completed_at, @idempotency_key)`,
    );
    const row = jobToRow(child(batch, 0, smiles[0]!, now));
    const columns = Object.keys(row);
    const insertJob = db.prepare(`INSERT INTO jobs (${columns.join(', ')}) VALUES (${columns.map((c) => '@' + c).join(', ')})`);
    db.transaction(() => {
      insertBatch.run(batchToRow(batch));
      smiles.forEach((s, i) => insertJob.run(jobToRow(child(batch, i, s, now))));
    }).immediate();
    return (performance.now() - started) / 1000;
  } finally {
    db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function child(batch: Batch, index: number, smiles: string, now: Date): Job {
  return pendingJob(
    {
      id: randomUUID(),
      owner: batch.owner,
      kind: 'BATCH_CHILD',
      model: batch.model,
      name: `L${index}`,
      ligand: { name: `L${index}`, smiles, canonicalSmiles: smiles, heavyAtoms: 25, rotatableBonds: 5, structure: null },
      protein: null,
      parameters: batch.parameters,
      batchId: batch.id,
      batchIndex: index,
      idempotencyKey: null,
    },
    now,
  );
}

export async function run(): Promise<BenchReport> {
  const figures: Figure[] = [];
  const notes: string[] = [];
  for (const [count, targetSeconds, rssTarget] of [
    [10_000, 2, null],
    [100_000, 20, 1024],
  ] as const) {
    const base = plainInsert(count);
    const hub = await submitOverHttp(count);
    figures.push({
      name: `submitBatch ${count.toLocaleString('en')} ligands, wall time`,
      value: `${fmt(hub.seconds, 2)} s (${fmt(count / hub.seconds, 0)} ligands/s)`,
      baseline: `${fmt(base, 2)} s plain insert`,
      ratio: `${fmt(hub.seconds / base, 1)}×`,
      target: `≤ ${targetSeconds} s`,
      met: hub.seconds <= targetSeconds,
    });
    figures.push({
      name: `submitBatch ${count.toLocaleString('en')} ligands, api peak RSS`,
      value: `${fmt(hub.peakRssMiB, 0)} MiB (idle after warm-up ${fmt(hub.idleRssMiB, 0)} MiB)`,
      target: rssTarget ? `≤ ${rssTarget} MiB` : '(reference)',
      ...(rssTarget ? { met: hub.peakRssMiB <= rssTarget } : {}),
    });
    notes.push(
      `${count.toLocaleString('en')}: request body ${fmt(hub.bodyMiB, 1)} MiB, ${hub.children.toLocaleString('en')} children stored, ${hub.skipped} skipped as invalid`,
    );
  }
  return {
    name: 'submitBatch over HTTP',
    method:
      'A fresh api process (own data dir) per size, warmed up with one 1,000-ligand batch; then one BOLTZ2 `submitBatch` ' +
      '(onInvalidLigand: SKIP) of N distinct drug-like SMILES from the scaffold × substituent generator, timed from fetch() to the parsed ' +
      "response. Peak RSS is the api process's VmHWM from /proc (RDKit worker threads included). Baseline: the same batch row and N child " +
      'rows (jobToRow, canonical SMILES = input) in one IMMEDIATE transaction with prepared INSERTs in the bench process, row building included.',
    figures,
    notes,
  };
}

runIfMain(import.meta.url, run);
