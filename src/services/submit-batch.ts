import type { Batch, Job } from '../domain/job.js';
import { pendingBatch, pendingJob } from '../domain/job.js';
import { InvalidInputError, type InvalidField } from '../domain/errors.js';
import type { BatchDraft } from '../domain/submission.js';
import { validateBatch } from '../domain/validation/index.js';
import type { ServiceDeps } from './deps.js';
import { dispatchJobs } from './dispatch.js';

export interface SkippedLigand {
  index: number;
  name: string | null;
  smiles: string;
  invalid: InvalidField[];
}

export interface SubmittedBatch {
  batch: Batch;
  /** Ligands left out under `onInvalidLigand: SKIP`, with why. */
  skipped: SkippedLigand[];
  /** False when an idempotency key returned an earlier batch. */
  created: boolean;
}

/**
 * Validates a screen, stores the batch with all its children in one transaction and queues
 * them in shards. With `onInvalidLigand: REJECT` (the default) one bad ligand rejects the
 * whole submission, listing every problem; with SKIP the valid ligands go ahead and the bad
 * ones come back in `skipped`. Children keep the index the ligand had in the input.
 */
export async function submitBatch(deps: ServiceDeps, owner: string, draft: BatchDraft): Promise<SubmittedBatch> {
  const chemistry = await deps.chemistryForBatch(draft.ligands.map((l) => l.smiles));
  const checked = validateBatch(chemistry, draft, deps.rules);
  const ligandInvalid = checked.ligandProblems.flatMap((p) => p.invalid);
  const skip = draft.onInvalidLigand === 'SKIP';
  const problems = skip ? checked.invalid : [...checked.invalid, ...ligandInvalid];
  if (problems.length > 0 || !checked.value) throw new InvalidInputError(problems.length > 0 ? problems : checked.invalid);
  if (checked.value.ligands.length === 0) {
    throw new InvalidInputError([
      { path: ['input', 'ligands'], message: `none of the ${draft.ligands.length} ligands is valid, so nothing was submitted` },
      ...ligandInvalid,
    ]);
  }

  const now = deps.clock();
  const batchId = deps.newId();
  const { value } = checked;
  const children: Job[] = value.ligands.map(({ index, ligand }) =>
    pendingJob(
      {
        id: deps.newId(),
        owner,
        kind: 'BATCH_CHILD',
        model: draft.model,
        name: ligand.name,
        ligand,
        protein: null,
        parameters: value.parameters,
        batchId,
        batchIndex: index,
        idempotencyKey: null,
      },
      now,
    ),
  );
  const { batch, created } = await deps.jobs.createBatch(
    pendingBatch(
      {
        id: batchId,
        owner,
        name: value.name,
        model: draft.model,
        protein: value.protein,
        parameters: value.parameters,
        maxConcurrent: value.maxConcurrent,
        idempotencyKey: draft.idempotencyKey ?? null,
      },
      children.length,
      now,
    ),
    children,
  );
  if (!created) return { batch, skipped: [], created };
  await dispatchJobs(deps, children, 'r0');
  // With its counters as they are now that the children are queued.
  const [queued] = await deps.jobs.getBatches([batch.id]);
  return { batch: queued ?? batch, skipped: checked.ligandProblems, created };
}
