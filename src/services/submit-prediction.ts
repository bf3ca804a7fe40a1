import { pendingJob, type Job } from '../domain/job.js';
import { InvalidInputError } from '../domain/errors.js';
import type { PredictionDraft } from '../domain/submission.js';
import { validatePrediction } from '../domain/validation/index.js';
import type { ServiceDeps } from './deps.js';
import { dispatchJobs } from './dispatch.js';
import { NOT_SHARED, type Sharing } from '../domain/sharing.js';
import { admissionFor, gpuEstimatesMs } from './quotas.js';

/**
 * Validates a single prediction, stores it and queues it. A rejected submission writes
 * nothing; a repeated idempotency key returns the first job untouched. `sharing` records the
 * submitter's organization and whether its members may read the job.
 */
export async function submitPrediction(
  deps: ServiceDeps,
  owner: string,
  draft: PredictionDraft,
  sharing: Sharing = NOT_SHARED,
): Promise<Job> {
  const checked = validatePrediction(deps.chemistry, draft, deps.rules);
  if (!checked.value) throw new InvalidInputError(checked.invalid);
  const now = deps.clock();
  const [estimatedGpuMs] = gpuEstimatesMs(deps.quotas, {
    model: draft.model,
    jobs: 1,
    parameters: checked.value.parameters,
    proteinLength: checked.value.protein.sequence?.length ?? null,
  });
  const { job, created } = await deps.jobs.createJob(
    pendingJob(
      {
        id: deps.newId(),
        owner,
        ...sharing,
        kind: 'INDIVIDUAL',
        model: draft.model,
        name: checked.value.name,
        ligand: checked.value.ligand,
        protein: checked.value.protein,
        parameters: checked.value.parameters,
        batchId: null,
        batchIndex: null,
        idempotencyKey: draft.idempotencyKey ?? null,
        estimatedGpuMs,
      },
      now,
    ),
    admissionFor(deps.quotas, { owner, organizationId: sharing.organizationId }, now, {
      jobs: 1,
      batch: false,
      estimatedGpuMs: estimatedGpuMs!,
    }),
  );
  if (!created) return job;
  await dispatchJobs(deps, [job], 'r0');
  // As stored now (QUEUED, or further if the worker was quick), not as first written.
  return (await deps.jobs.getJobs([job.id]))[0] ?? job;
}
