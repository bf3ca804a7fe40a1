import type { Batch, Job } from '../domain/job.js';
import { pendingBatch, pendingJob } from '../domain/job.js';
import { InvalidInputError, type InvalidField } from '../domain/errors.js';
import type { BatchDraft } from '../domain/submission.js';
import { validateBatch } from '../domain/validation/index.js';
import type { ServiceDeps } from './deps.js';
import { dispatchJobs } from './dispatch.js';
import { NOT_SHARED, type Sharing } from '../domain/sharing.js';
import { admissionFor, checkBatchSize, gpuEstimatesMs } from './quotas.js';
import { checkWebhookUrl } from '../webhooks/url-policy.js';

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
 * `sharing` (the submitter's organization, shared or not) applies to the batch and every child.
 */
export async function submitBatch(
  deps: ServiceDeps,
  owner: string,
  draft: BatchDraft,
  sharing: Sharing = NOT_SHARED,
): Promise<SubmittedBatch> {
  const submitter = { owner, organizationId: sharing.organizationId };
  // Before RDKit parses a single ligand: a batch over the quota is refused at no cost.
  checkBatchSize(deps.quotas, submitter, draft.ligands.length);
  // The webhook's host resolves while the ligands are parsed.
  const [chemistry, webhook] = await Promise.all([
    deps.chemistryForBatch(draft.ligands.map((l) => l.smiles)),
    draft.webhookUrl == null ? null : checkWebhookUrl(draft.webhookUrl, deps.webhookUrls),
  ]);
  const checked = validateBatch(chemistry, draft, deps.rules);
  const ligandInvalid = checked.ligandProblems.flatMap((p) => p.invalid);
  const skip = draft.onInvalidLigand === 'SKIP';
  const webhookInvalid = webhook?.ok === false ? [{ path: ['input', 'webhookUrl'], message: webhook.problem }] : [];
  const problems = [...checked.invalid, ...webhookInvalid, ...(skip ? [] : ligandInvalid)];
  if (problems.length > 0 || !checked.value) throw new InvalidInputError(problems);
  if (checked.value.ligands.length === 0) {
    throw new InvalidInputError([
      { path: ['input', 'ligands'], message: `none of the ${draft.ligands.length} ligands is valid, so nothing was submitted` },
      ...ligandInvalid,
    ]);
  }

  const now = deps.clock();
  const batchId = deps.newId();
  const { value } = checked;
  const estimates = gpuEstimatesMs(deps.quotas, {
    model: draft.model,
    jobs: value.ligands.length,
    parameters: value.parameters,
    proteinLength: value.protein.sequence?.length ?? null,
  });
  const children: Job[] = value.ligands.map(({ index, ligand }, i) =>
    pendingJob(
      {
        id: deps.newId(),
        owner,
        ...sharing,
        kind: 'BATCH_CHILD',
        model: draft.model,
        name: ligand.name,
        ligand,
        protein: null,
        parameters: value.parameters,
        batchId,
        batchIndex: index,
        idempotencyKey: null,
        estimatedGpuMs: estimates[i]!,
      },
      now,
    ),
  );
  const { batch, created } = await deps.jobs.createBatch(
    pendingBatch(
      {
        id: batchId,
        owner,
        ...sharing,
        name: value.name,
        model: draft.model,
        protein: value.protein,
        parameters: value.parameters,
        maxConcurrent: value.maxConcurrent,
        idempotencyKey: draft.idempotencyKey ?? null,
        webhookUrl: webhook?.ok ? webhook.url : null,
      },
      children.length,
      now,
    ),
    children,
    admissionFor(deps.quotas, submitter, now, {
      jobs: children.length,
      batch: true,
      estimatedGpuMs: estimates.reduce((sum, ms) => sum + ms, 0),
    }),
  );
  if (!created) return { batch, skipped: [], created };
  await dispatchJobs(deps, children, 'r0');
  // With its counters as they are now that the children are queued.
  const [queued] = await deps.jobs.getBatches([batch.id]);
  return { batch: queued ?? batch, skipped: checked.ligandProblems, created };
}
