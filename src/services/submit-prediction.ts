import { pendingJob, type Job } from '../domain/job.js';
import { InvalidInputError } from '../domain/errors.js';
import type { PredictionDraft } from '../domain/submission.js';
import { validatePrediction } from '../domain/validation/index.js';
import type { ServiceDeps } from './deps.js';
import { dispatchJobs } from './dispatch.js';

/**
 * Validates a single prediction, stores it and queues it. A rejected submission writes
 * nothing; a repeated idempotency key returns the first job untouched.
 */
export async function submitPrediction(deps: ServiceDeps, owner: string, draft: PredictionDraft): Promise<Job> {
  const checked = validatePrediction(deps.chemistry, draft, deps.rules);
  if (!checked.value) throw new InvalidInputError(checked.invalid);
  const now = deps.clock();
  const { job, created } = await deps.jobs.createJob(
    pendingJob(
      {
        id: deps.newId(),
        owner,
        kind: 'INDIVIDUAL',
        model: draft.model,
        name: checked.value.name,
        ligand: checked.value.ligand,
        protein: checked.value.protein,
        parameters: checked.value.parameters,
        batchId: null,
        batchIndex: null,
        idempotencyKey: draft.idempotencyKey ?? null,
      },
      now,
    ),
  );
  if (!created) return job;
  await dispatchJobs(deps, [job], 'r0');
  // As stored now (QUEUED, or further if the worker was quick), not as first written.
  return (await deps.jobs.getJobs([job.id]))[0] ?? job;
}
