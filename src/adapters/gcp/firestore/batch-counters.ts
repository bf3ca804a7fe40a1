import { AggregateField, FieldValue, type DocumentReference, type Firestore, type Transaction } from '@google-cloud/firestore';
import type { JobStatus, StatusCounts, Usage } from '../../../domain/job.js';
import { countKey, emptyCounts, noUsage } from '../../../domain/job.js';
import { JOBS } from './job-documents.js';

/**
 * A batch's counters, sharded. Firestore sustains about one write a second per document, and
 * a batch's children change often: each child is claimed and finished (two counter changes),
 * so 50 workers on children of ~2 s each (a fast VINA docking) make 50 changes a second. The
 * counters live in `jobs/{batchId}/counter_shards/{0…SHARDS-1}`; a child always changes shard
 * `batch_index % SHARDS` with `FieldValue.increment` (a blind write: the child's transaction
 * reads no shard, so completions never wait for each other), in the same transaction as its
 * own status. 50 changes/s ÷ 64 shards ≈ 0.8 writes/s per shard document.
 *
 * A shard holds signed deltas: `pending`, `queued`, …, `cancelled` (one −1 and one +1 per
 * transition) and the usage sums `runtime_ms`, `gpu_ms`, `cost_nano_usd` (whole units, so the
 * sums are exact int64s). A batch's counts are its `total` as pending plus the sum of every
 * shard, read as three aggregation queries at one read time (9 sums, at most 5 per query; billed per 1,000 index entries, not per shard).
 * The shards are created with the batch, so a transaction that must know the exact running
 * count (a claim in a batch with `maxConcurrent`) reads them all and Firestore locks them.
 */
export const SHARDS = 64;
export const COUNTER_SHARDS = 'counter_shards';

const STATUS_FIELDS = ['pending', 'queued', 'running', 'completed', 'failed', 'cancelled'] as const;

export function shardsOf(db: Firestore, batchId: string) {
  return db.collection(JOBS).doc(batchId).collection(COUNTER_SHARDS);
}

export function shardOf(db: Firestore, batchId: string, batchIndex: number | null): DocumentReference {
  return shardsOf(db, batchId).doc(String((batchIndex ?? 0) % SHARDS));
}

/** What one transaction adds to one batch's shard. */
export interface CounterDelta {
  counts: Partial<Record<keyof StatusCounts, number>>;
  usage: Usage | null;
}

export function emptyDelta(): CounterDelta {
  return { counts: {}, usage: null };
}

export function addTransition(delta: CounterDelta, from: JobStatus, to: JobStatus): void {
  if (from === to) return;
  delta.counts[countKey(from)] = (delta.counts[countKey(from)] ?? 0) - 1;
  delta.counts[countKey(to)] = (delta.counts[countKey(to)] ?? 0) + 1;
}

export function addUsageDelta(delta: CounterDelta, usage: Usage): void {
  const u = delta.usage ?? noUsage();
  delta.usage = {
    runtimeMs: u.runtimeMs + usage.runtimeMs,
    gpuMs: u.gpuMs + usage.gpuMs,
    costNanoUsd: u.costNanoUsd + usage.costNanoUsd,
  };
}

/** Adds `delta` to `shard` inside `tx` without reading it. */
export function writeDelta(tx: Transaction, shard: DocumentReference, delta: CounterDelta): void {
  const fields: Record<string, FieldValue> = {};
  for (const [key, n] of Object.entries(delta.counts)) if (n !== 0) fields[key] = FieldValue.increment(n);
  if (delta.usage) {
    if (delta.usage.runtimeMs) fields.runtime_ms = FieldValue.increment(delta.usage.runtimeMs);
    if (delta.usage.gpuMs) fields.gpu_ms = FieldValue.increment(delta.usage.gpuMs);
    if (delta.usage.costNanoUsd) fields.cost_nano_usd = FieldValue.increment(delta.usage.costNanoUsd);
  }
  if (Object.keys(fields).length > 0) tx.set(shard, fields, { merge: true });
}

/** Creates a new batch's shards, all zero, in the transaction that creates the batch. */
export function createShards(tx: Transaction, db: Firestore, batchId: string): void {
  const zero = Object.fromEntries([...STATUS_FIELDS, 'runtime_ms', 'gpu_ms', 'cost_nano_usd'].map((f) => [f, 0]));
  for (let i = 0; i < SHARDS; i++) tx.create(shardsOf(db, batchId).doc(String(i)), zero);
}

/** Firestore answers at most 5 aggregations per query: the nine sums are two queries. */
const SUMS = [
  Object.fromEntries(STATUS_FIELDS.slice(0, 3).map((f) => [f, AggregateField.sum(f)])),
  Object.fromEntries(STATUS_FIELDS.slice(3).map((f) => [f, AggregateField.sum(f)])),
  {
    runtime_ms: AggregateField.sum('runtime_ms'),
    gpu_ms: AggregateField.sum('gpu_ms'),
    cost_nano_usd: AggregateField.sum('cost_nano_usd'),
  },
];

/** Counts and usage of a batch of `total` children: pending `total` plus every shard's deltas. */
export async function sumShards(
  db: Firestore,
  batchId: string,
  total: number,
  tx?: Transaction,
): Promise<{ counts: StatusCounts; usage: Usage }> {
  const queries = SUMS.map((spec) => shardsOf(db, batchId).aggregate(spec));
  // The three queries must see one moment: read apart, a completion landing between them
  // counts its child as running and completed (or neither). A read-only transaction reads all
  // three at one read time, and takes no locks.
  const read = (t: Transaction) => Promise.all(queries.map((q) => t.get(q)));
  const answers = await (tx ? read(tx) : db.runTransaction(read, { readOnly: true }));
  const sums = Object.assign({}, ...answers.map((a) => a.data())) as Record<string, number | null>;
  const counts = emptyCounts();
  for (const f of STATUS_FIELDS) counts[f] = sums[f] ?? 0;
  counts.pending += total;
  return { counts, usage: { runtimeMs: sums.runtime_ms ?? 0, gpuMs: sums.gpu_ms ?? 0, costNanoUsd: sums.cost_nano_usd ?? 0 } };
}

/** The exact running count of a batch inside `tx`: reads (and so locks) every shard. */
export async function lockedRunning(tx: Transaction, db: Firestore, batchId: string): Promise<number> {
  const shards = await tx.get(shardsOf(db, batchId));
  return shards.docs.reduce((n, d) => n + ((d.get('running') as number | undefined) ?? 0), 0);
}
