import type { Job, Parameters, Protein } from '../domain/job.js';
import { msaKey, msaPlanOf } from '../domain/msa.js';
import { boltzShardSize } from '../domain/cost.js';
import type { TaskRequest } from '../ports/task-queue.js';
import type { ServiceDeps } from './deps.js';
import { MsaServerError } from '../ports/msa-provider.js';

type DispatchDeps = Pick<
  ServiceDeps,
  'queue' | 'jobs' | 'clock' | 'shardSize' | 'boltzShardTimeLimitSeconds' | 'blobs' | 'msaStage'
>;

/**
 * Hands jobs to the queue and marks them QUEUED. Batch children go in shards (a task carries
 * ids, never inputs): VINA's of `shardSize`, BOLTZ2's as large as fits the worker's shard
 * time limit (`boltzShardSize`), since each shard loads the weights once. An individual job
 * goes alone. Task names
 * are derived from the jobs and `round`, so enqueueing the same round twice (a retried
 * submission, the stale-PENDING sweep) de-duplicates instead of running twice.
 *
 * A BOLTZ2 target's MSA is stored before its jobs are sent, once per batch: an uploaded one
 * at once, one from the MSA server in the background — its jobs stay PENDING meanwhile and
 * are dispatched when it is stored (or by the reaper's PENDING sweep after a restart).
 */
export async function dispatchJobs(deps: DispatchDeps, jobs: Job[], round: string): Promise<void> {
  if (jobs.length === 0) return;
  const ready: Target[] = [];
  for (const target of await targetsOf(deps, jobs)) {
    if (await msaReady(deps, target, round)) ready.push(target);
  }
  const tasks: TaskRequest[] = [];
  for (const { jobs: group, protein, parameters } of ready) {
    const batchId = group[0]!.batchId;
    if (batchId === null) {
      for (const job of group) tasks.push({ name: `job-${job.id}-${round}`, payload: { jobIds: [job.id], batchId: null } });
      continue;
    }
    const shardSize =
      group[0]!.model === 'BOLTZ2'
        ? boltzShardSize(parameters, deps.boltzShardTimeLimitSeconds, { residues: protein.sequence?.length })
        : deps.shardSize;
    for (let start = 0; start < group.length; start += shardSize) {
      const shard = group.slice(start, start + shardSize);
      const first = shard[0]!;
      tasks.push({
        name: `batch-${batchId}-${round}-${first.batchIndex ?? first.id}`,
        payload: { jobIds: shard.map((j) => j.id), batchId },
      });
    }
  }
  if (tasks.length === 0) return;
  await deps.queue.enqueue(tasks);
  await deps.jobs.markQueued(
    ready.flatMap((t) => t.jobs.map((j) => j.id)),
    deps.clock(),
  );
}

/** Jobs that share a protein: a batch's children, or one individual job. */
interface Target {
  owner: { batchId: string } | { jobId: string };
  protein: Protein;
  parameters: Parameters;
  jobs: Job[];
}

async function targetsOf(deps: DispatchDeps, jobs: Job[]): Promise<Target[]> {
  const byBatch = new Map<string, Job[]>();
  const targets: Target[] = [];
  for (const job of jobs) {
    if (job.batchId === null) {
      targets.push({ owner: { jobId: job.id }, protein: job.protein!, parameters: job.parameters, jobs: [job] });
      continue;
    }
    const group = byBatch.get(job.batchId) ?? [];
    group.push(job);
    byBatch.set(job.batchId, group);
  }
  const batchIds = [...byBatch.keys()];
  // Only BOLTZ2 reads the batch's protein here (for its MSA); VINA shards go without a read.
  const needProtein = batchIds.filter((id) => byBatch.get(id)![0]!.model === 'BOLTZ2');
  const batches = new Map((await deps.jobs.getBatches(needProtein)).flatMap((b) => (b ? [[b.id, b] as const] : [])));
  for (const batchId of batchIds) {
    const group = byBatch.get(batchId)!;
    const batch = batches.get(batchId);
    targets.push({
      owner: { batchId },
      protein: batch?.protein ?? NO_PROTEIN,
      parameters: batch?.parameters ?? group[0]!.parameters,
      jobs: group,
    });
  }
  return targets;
}

/** Stands in for the protein of a VINA batch, which the dispatcher does not read. */
const NO_PROTEIN: Protein = { name: null, sequence: null, structure: null, pocket: null, msa: null };

/**
 * Whether the target's jobs can be sent now. An uploaded MSA is stored as the batch's file
 * here; a server MSA not yet stored starts its search (unless one runs) and the jobs wait.
 */
async function msaReady(deps: DispatchDeps, target: Target, round: string): Promise<boolean> {
  const plan = msaPlanOf(target.jobs[0]!.model, target.protein, target.parameters);
  if (plan === null || plan.kind === 'EMPTY') return true;
  const key = msaKey(target.owner, plan.fileName);
  if (await deps.blobs.stat(key)) return true;
  if (plan.kind === 'UPLOADED') {
    await deps.blobs.put(key, target.protein.msa!.content, plan.fileName.endsWith('.csv') ? 'text/csv' : 'text/plain');
    return true;
  }
  deps.msaStage.search(key, target.protein.sequence!, async (outcome) => {
    if (outcome.ok) return dispatchJobs(deps, target.jobs, round);
    if (!outcome.final) return; // The jobs stay PENDING: the reaper's sweep tries again after a pause.
    // Refused for this sequence, or the server kept failing: every job of the target fails
    // now, none is sent. Only a refusal is final for the jobs too; the user may retry the rest.
    const refused = outcome.error instanceof MsaServerError && !outcome.error.retryable;
    const ids = target.jobs.map((j) => j.id);
    await deps.jobs.markQueued(ids, deps.clock());
    await deps.jobs.abandon(
      ids,
      {
        code: 'MSA_FAILED',
        message: refused
          ? `the MSA search failed: ${outcome.error.message}`
          : `the MSA server kept failing, so the search was given up: ${outcome.error.message}; retry the failed jobs later`,
        retryable: !refused,
      },
      deps.clock(),
    );
  });
  return false;
}
