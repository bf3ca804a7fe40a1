/**
 * The Google Cloud JobStore against the embedded one, both in this process, on the same
 * operations: FirestoreJobStore on Google's Firestore emulator (started here) and
 * SqliteJobStore on a file. Figures are Firestore ÷ SQLite ratios from the same run.
 *
 * - submit: createBatch of one 10,000-child batch (BulkWriter stage + admitting transaction
 *   on Firestore; one transaction on SQLite);
 * - paging: listBatchJobs(first: 50) at depth 1 and at depth 200 (the last page of that batch);
 * - counters: 50 children completed concurrently (claim first, then 50 `complete` at once),
 *   each changing its batch's counters in its own transaction.
 * Run: npm run bench -- gcp
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Firestore } from '@google-cloud/firestore';
import { openSqlite } from '../src/adapters/local/sqlite/database.js';
import { SqliteJobStore } from '../src/adapters/local/sqlite-job-store.js';
import { FirestoreJobStore } from '../src/adapters/gcp/firestore-job-store.js';
import type { JobStore } from '../src/ports/job-store.js';
import { buildBatch, buildResult } from '../src/ports/testing/records.js';
import { startFirestoreEmulator } from '../test/support/emulators/firestore-emulator.js';
import { fmt, median, type Figure } from './support/stats.js';
import { runIfMain, type BenchReport } from './support/report.js';

const CHILDREN = 10_000;
const PAGE = 50;
const DEPTH = CHILDREN / PAGE;
const CONCURRENT = 50;
const LEASE_MS = 600_000;

interface StoreFigures {
  submitSeconds: number;
  pageMs: { first: number; deep: number };
  completeSeconds: number;
}

async function measure(store: JobStore): Promise<StoreFigures> {
  const { batch, children } = buildBatch(CHILDREN);
  const submitStarted = performance.now();
  await store.createBatch(batch, children);
  const submitSeconds = (performance.now() - submitStarted) / 1000;

  const order = { field: 'INDEX', direction: 'ASC' } as const;
  let after: string | null = null;
  for (let page = 1; page < DEPTH; page++) {
    const p = await store.listBatchJobs(batch.id, {}, order, { first: PAGE, after });
    after = p.edges.at(-1)!.cursor;
  }
  const deep = await store.listBatchJobs(batch.id, {}, order, { first: PAGE, after });
  if (deep.edges.length !== PAGE || deep.hasNextPage) throw new Error(`page ${DEPTH} should be the last full page`);
  const first: number[] = [];
  const last: number[] = [];
  for (let round = 0; round < 30; round++) {
    let t = performance.now();
    await store.listBatchJobs(batch.id, {}, order, { first: PAGE });
    first.push(performance.now() - t);
    t = performance.now();
    await store.listBatchJobs(batch.id, {}, order, { first: PAGE, after });
    last.push(performance.now() - t);
  }

  const now = new Date();
  const running = children.slice(0, CONCURRENT).map((c) => c.id);
  await store.markQueued(running, now);
  const attempts = await Promise.all(
    running.map(async (id) => {
      const outcome = await store.claim(id, now, LEASE_MS);
      if (!outcome.claimed) throw new Error(`could not claim ${id}: ${outcome.reason}`);
      return outcome.attempt;
    }),
  );
  const completeStarted = performance.now();
  await Promise.all(running.map((id, i) => store.complete(id, attempts[i]!, buildResult({ affinity: -i }), new Date())));
  const completeSeconds = (performance.now() - completeStarted) / 1000;
  const [after50] = await store.getBatches([batch.id]);
  if (after50?.counts.completed !== CONCURRENT) throw new Error(`counters drifted: ${JSON.stringify(after50?.counts)}`);
  return { submitSeconds, pageMs: { first: median(first), deep: median(last) }, completeSeconds };
}

export async function run(): Promise<BenchReport> {
  const dir = mkdtempSync(join(tmpdir(), 'omtx-bench-gcp-'));
  const emulator = await startFirestoreEmulator();
  const db = new Firestore({ projectId: 'omtx-bench', host: emulator.host, ssl: false });
  try {
    const sqlite = new SqliteJobStore(openSqlite(join(dir, 'bench.sqlite')));
    const local = await measure(sqlite);
    await sqlite.close();
    const firestore = new FirestoreJobStore(db);
    const gcp = await measure(firestore);
    await firestore.close();
    const times = (a: number, b: number) => `${fmt(a / b, 1)}×`;
    const figures: Figure[] = [
      {
        name: `createBatch, ${CHILDREN.toLocaleString('en')} children`,
        value: `${fmt(gcp.submitSeconds, 2)} s`,
        baseline: `${fmt(local.submitSeconds, 2)} s (SQLite)`,
        ratio: times(gcp.submitSeconds, local.submitSeconds),
      },
      {
        name: 'listBatchJobs(first: 50), depth 1',
        value: `${fmt(gcp.pageMs.first, 2)} ms`,
        baseline: `${fmt(local.pageMs.first, 2)} ms (SQLite)`,
        ratio: times(gcp.pageMs.first, local.pageMs.first),
      },
      {
        name: `listBatchJobs(first: 50), depth ${DEPTH}`,
        value: `${fmt(gcp.pageMs.deep, 2)} ms`,
        baseline: `${fmt(local.pageMs.deep, 2)} ms (SQLite)`,
        ratio: times(gcp.pageMs.deep, local.pageMs.deep),
      },
      {
        name: `depth ${DEPTH} ÷ depth 1, Firestore (SQLite)`,
        value: fmt(gcp.pageMs.deep / gcp.pageMs.first, 2),
        baseline: fmt(local.pageMs.deep / local.pageMs.first, 2),
        target: '≈ 1 (page cost does not grow with depth)',
        met: gcp.pageMs.deep / gcp.pageMs.first < 1.5,
      },
      {
        name: `${CONCURRENT} concurrent completions on one batch`,
        value: `${fmt(gcp.completeSeconds, 2)} s (${fmt(CONCURRENT / gcp.completeSeconds, 0)}/s)`,
        baseline: `${fmt(local.completeSeconds, 3)} s (SQLite)`,
        ratio: times(gcp.completeSeconds, local.completeSeconds),
      },
    ];
    return {
      name: 'Google Cloud JobStore on the Firestore emulator vs the embedded SQLite store',
      method:
        'Both stores in the bench process, the same operations and records (src/ports/testing/records.ts). Firestore: ' +
        "FirestoreJobStore through @google-cloud/firestore 8 on Google's emulator (cloud-firestore-emulator 528, in memory, " +
        'on this machine); SQLite: SqliteJobStore on a file. Medians of 30 page requests; one submission and one round of completions each.',
      figures,
      notes: [
        'The emulator runs every request on one local JVM with no network, no replication and no index maintenance costs as ' +
          'production has them: its absolute times say nothing about Firestore; the depth ratio and the exact counters do.',
      ],
    };
  } finally {
    await db.terminate();
    await emulator.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, run);
