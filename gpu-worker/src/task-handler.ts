import type { Job, JobError, Protein, Result, Usage } from '../../src/domain/job.js';
import type { JobStore } from '../../src/ports/job-store.js';
import type { BlobStore } from '../../src/ports/blob-store.js';
import type { TaskPayload } from '../../src/ports/task-queue.js';
import type { RunnerRegistry } from './runners/registry.js';
import type { LigandOutcome, RunnerFile, ShardMsa } from './runners/runner.js';
import { msaKey, msaPlanOf } from '../../src/domain/msa.js';
import { usageOf, type InstanceShape, type Prices } from '../../src/domain/cost.js';
import { artifactKey, failureLogKey } from '../../src/domain/artifact-keys.js';
import { ShardMeter } from './shard-meter.js';

export interface TaskHandlerDeps {
  jobs: JobStore;
  blobs: BlobStore;
  runners: RunnerRegistry;
  clock: () => Date;
  leaseMs: number;
  jobMaxAttempts: number;
  /** Aborted when the worker shuts down: the running tool is killed and its job goes back to the queue. */
  shutdown: AbortSignal;
  /** The instance this worker runs on and its prices: each job records the share of the shard's time it held it. */
  billing: { instance: InstanceShape; prices: Prices };
  log: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

/** How the task ends: 2xx when every job was settled (or skipped), 5xx to have the queue retry. */
export interface TaskOutcome {
  status: 200 | 503;
  settled: number;
  skipped: number;
  retrying: number;
}

interface Claimed {
  job: Job;
  attempt: number;
}

/** The usage of the job settled now, given the runner's own time for it; called just before its store write. */
type Bill = (reportedSeconds?: number) => Usage;

/**
 * Runs one task: a shard of job ids of one batch, or one job. Each job is claimed through a
 * store transaction first; a job finished, cancelled or leased by a live attempt is skipped
 * (a duplicate delivery is a no-op). The claimed ones run as one shard of their model's
 * runner, which reports each ligand as it finishes; its files go to the BlobStore and its
 * result and status to the store in one transaction. A bad input fails the job for good; a
 * transient fault puts it back to QUEUED and the task answers 503, so the queue retries.
 * Every job settled records its usage: its share of the shard's wall time (`ShardMeter`),
 * priced on the worker's instance, so a batch's sums are what its shards were billed.
 */
export async function handleTask(deps: TaskHandlerDeps, payload: TaskPayload): Promise<TaskOutcome> {
  const claimed: Claimed[] = [];
  let skipped = 0;
  // Children held back by their batch's maxConcurrent: the ones claimed still run, and the
  // task answers 503 so the queue brings the rest again later (claims make that safe).
  let throttled = 0;
  for (const id of payload.jobIds) {
    const claim = await deps.jobs.claim(id, deps.clock(), deps.leaseMs);
    if (!claim.claimed) {
      if (claim.reason === 'THROTTLED') throttled++;
      else skipped++;
      continue;
    }
    // Attempts count from the user's last retry, so a retried job gets a fresh budget.
    const tries = claim.attempt - claim.job.attemptsBeforeRetry;
    if (tries > deps.jobMaxAttempts) {
      await deps.jobs.fail(id, claim.attempt, attemptsExhausted(tries - 1), deps.clock());
      continue;
    }
    claimed.push({ job: claim.job, attempt: claim.attempt });
  }
  if (claimed.length === 0) return { status: throttled > 0 ? 503 : 200, settled: 0, skipped, retrying: throttled };

  const meter = new ShardMeter(deps.clock(), claimed.length);
  const first = claimed[0]!.job;
  const protein = await proteinOf(deps.jobs, first);
  const runner = deps.runners.get(first.model);
  const usesGpu = runner?.accelerator === 'GPU';
  const bill: Bill = (reportedSeconds) =>
    usageOf(meter.take(deps.clock(), reportedSeconds), usesGpu, deps.billing.instance, deps.billing.prices);
  const byId = new Map(claimed.map((c) => [c.job.id, c]));
  const pending = new Set(byId.keys());
  let settled = 0;
  let retrying = 0;

  const keepLeases = setInterval(() => {
    for (const id of pending) {
      // A failed renewal (the store busy) is retried on the next tick; the lease has slack.
      deps.jobs
        .renewLease(id, byId.get(id)!.attempt, deps.clock(), deps.leaseMs)
        .catch((error: unknown) => deps.log('warn', 'lease renewal failed', { jobId: id, err: error }));
    }
  }, deps.leaseMs / 3);
  try {
    if (!runner) {
      for (const c of claimed) await settle(deps, c, { ok: false, error: noRunner(first.model) }, bill);
      return { status: throttled > 0 ? 503 : 200, settled: claimed.length, skipped, retrying: throttled };
    }
    const msa = await shardMsa(deps.blobs, first, protein);
    const outcomes = runner.runShard(
      { jobs: claimed.map((c) => c.job), protein, parameters: first.parameters, ...(msa && { msa }) },
      { shouldStop: (jobId: string) => stopped(deps.jobs, jobId), signal: deps.shutdown },
    );
    for await (const { jobId, outcome } of outcomes) {
      const c = byId.get(jobId);
      if (!c || !pending.delete(jobId)) continue;
      const kept = await settle(deps, c, outcome, bill);
      if (kept === 'released') retrying++;
      else settled++;
    }
  } catch (error) {
    deps.log('error', 'runner failed', { err: error, jobIds: [...pending] });
    const fault: JobError = { code: 'WORKER_FAULT', message: `the worker failed: ${(error as Error).message}`, retryable: true };
    for (const id of pending) await settle(deps, byId.get(id)!, { ok: false, error: fault }, bill);
    retrying += pending.size;
    pending.clear();
  } finally {
    clearInterval(keepLeases);
  }
  // Jobs the runner did not report (it stopped early: cancelled) are settled by cancellation;
  // anything else still holding our lease goes back to the queue, and the last of those
  // carries what is left of the shard's time.
  const unrun: Claimed[] = [];
  for (const id of pending) {
    if (await stopped(deps.jobs, id)) meter.drop();
    else unrun.push(byId.get(id)!);
  }
  for (const c of unrun) {
    const error = { code: 'NOT_RUN', message: 'the shard stopped before this ligand', retryable: true };
    await deps.jobs.release(c.job.id, c.attempt, error, deps.clock(), bill());
    retrying++;
  }
  retrying += throttled;
  return { status: retrying > 0 ? 503 : 200, settled, skipped, retrying };
}

/**
 * Records one ligand's outcome and its usage: 'released' when it goes back to the queue for
 * another attempt.
 */
async function settle(deps: TaskHandlerDeps, c: Claimed, outcome: LigandOutcome, bill: Bill): Promise<'done' | 'released'> {
  const now = deps.clock();
  if (!outcome.ok) {
    await keepFailureLog(deps, c, outcome.files);
    if (outcome.error.retryable && c.attempt - c.job.attemptsBeforeRetry < deps.jobMaxAttempts) {
      await deps.jobs.release(c.job.id, c.attempt, outcome.error, now, bill(outcome.runtimeSeconds));
      return 'released';
    }
    const error = outcome.error.retryable
      ? { ...outcome.error, message: `${outcome.error.message} (after ${c.attempt} attempts)` }
      : outcome.error;
    await deps.jobs.fail(
      c.job.id,
      c.attempt,
      { ...error, retryable: outcome.error.retryable },
      now,
      bill(outcome.runtimeSeconds),
    );
    return 'done';
  }
  // A job cancelled (or taken over) while it ran keeps no files from this attempt.
  if (!(await deps.jobs.renewLease(c.job.id, c.attempt, now, deps.leaseMs))) {
    deps.log('info', 'result discarded: the attempt no longer holds the job (cancelled or taken over)', { jobId: c.job.id });
    // Its share of the shard is spent, so the shard's last job does not take it too; no store
    // write can record it (the attempt holds nothing now).
    bill(outcome.runtimeSeconds);
    return 'done';
  }
  const artifacts = [];
  for (const file of outcome.files) {
    const key = artifactKey(c.job, file.name);
    const info = await deps.blobs.put(key, file.body, file.contentType);
    artifacts.push({ name: file.name, key, contentType: file.contentType, sizeBytes: info.sizeBytes });
  }
  const result: Result = { ...outcome.result, artifacts };
  const done = await deps.jobs.complete(c.job.id, c.attempt, result, deps.clock(), bill(outcome.runtimeSeconds));
  if (!done)
    deps.log('info', 'result discarded: the attempt no longer holds the job (cancelled or taken over)', { jobId: c.job.id });
  return 'done';
}

/** Stores what a failed attempt left to read (the runner's `log.txt`); a failed upload loses only the log. */
async function keepFailureLog(deps: TaskHandlerDeps, c: Claimed, files: RunnerFile[] | undefined): Promise<void> {
  const log = files?.find((f) => f.name === 'log.txt');
  if (!log) return;
  try {
    await deps.blobs.put(failureLogKey(c.job), log.body, log.contentType);
  } catch (error) {
    deps.log('warn', 'the failed attempt’s log could not be stored', { jobId: c.job.id, err: error });
  }
}

async function proteinOf(jobs: JobStore, job: Job): Promise<Protein> {
  if (job.protein) return job.protein;
  const [batch] = await jobs.getBatches([job.batchId!]);
  return batch!.protein;
}

/**
 * The MSA every ligand of the shard points at: the upload from the record, or the file the
 * dispatcher fetched from the MSA server before sending the shard. A missing file is a fault
 * of the moment (thrown, so the shard's jobs are retried), never a reason to search again here.
 */
async function shardMsa(blobs: BlobStore, job: Job, protein: Protein): Promise<ShardMsa | null> {
  const plan = msaPlanOf(job.model, protein, job.parameters);
  if (plan === null) return null;
  if (plan.kind === 'EMPTY') return { kind: 'EMPTY' };
  if (plan.kind === 'UPLOADED') return { kind: 'FILE', fileName: plan.fileName, content: protein.msa!.content };
  const key = msaKey(job.batchId === null ? { jobId: job.id } : { batchId: job.batchId }, plan.fileName);
  const stored = await blobs.get(key);
  if (!stored) throw new Error(`the target's MSA is missing from ${key}; the dispatcher stores it before sending shards`);
  return { kind: 'FILE', fileName: plan.fileName, content: stored.body.toString('utf8') };
}

/** Checked between ligands: a cancelled job (or batch) stops the shard. */
async function stopped(jobs: JobStore, jobId: string): Promise<boolean> {
  const [job] = await jobs.getJobs([jobId]);
  return !job || job.status === 'CANCELLED';
}

function attemptsExhausted(attempts: number): JobError {
  return {
    code: 'ATTEMPTS_EXHAUSTED',
    message: `the job was tried ${attempts} times and its worker never finished it`,
    retryable: false,
  };
}

function noRunner(model: string): JobError {
  return { code: 'MODEL_UNAVAILABLE', message: `this worker has no runner for ${model}`, retryable: false };
}
