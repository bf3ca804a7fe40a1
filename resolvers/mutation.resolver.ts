import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { assertOwnerOf, sharingOf, type Context } from './context.js';
import { submitPrediction } from '../src/services/submit-prediction.js';
import { submitBatch } from '../src/services/submit-batch.js';
import { cancelBatch, cancelJob, retryFailedJobs } from '../src/services/job-actions.js';
import { SubmitBatchInput, SubmitPredictionInput } from './inputs/submission.input.js';
import { SubmitBatchPayload, SubmitPredictionPayload } from './types/payload.type.js';
import { JobType } from './types/job.type.js';
import { BatchType } from './types/batch.type.js';

@Resolver()
export class MutationResolver {
  @Mutation((_returns) => SubmitPredictionPayload)
  async submitPrediction(@Arg('input', (_type) => SubmitPredictionInput) input: SubmitPredictionInput, @Ctx() ctx: Context) {
    const sharing = sharingOf(ctx.viewer, input.shareWithOrganization, ['input', 'shareWithOrganization']);
    const job = await submitPrediction(ctx.app.services, ctx.viewer.id, input, sharing);
    return { job };
  }

  @Mutation((_returns) => SubmitBatchPayload, {
    description: 'Invalid ligands reject the batch (every problem in extensions.invalid) unless onInvalidLigand is SKIP.',
  })
  async submitBatch(@Arg('input', (_type) => SubmitBatchInput) input: SubmitBatchInput, @Ctx() ctx: Context) {
    const sharing = sharingOf(ctx.viewer, input.shareWithOrganization, ['input', 'shareWithOrganization']);
    const { batch, skipped } = await submitBatch(ctx.app.services, ctx.viewer.id, input, sharing);
    return {
      batch,
      skipped: skipped.map((s) => ({ ...s, problems: s.invalid.map((p) => ({ path: p.path.map(String), message: p.message })) })),
    };
  }

  @Mutation((_returns) => JobType, { description: 'A job not yet finished ends CANCELLED; a finished one is a CONFLICT.' })
  async cancelJob(@Arg('id', (_type) => ID) id: string, @Ctx() ctx: Context) {
    await assertOwnerOf(ctx, 'Job', id);
    return cancelJob(ctx.app.services, ctx.viewer.id, id);
  }

  @Mutation((_returns) => BatchType, {
    description: 'Children not yet finished end CANCELLED; running ones stop between ligands.',
  })
  async cancelBatch(@Arg('id', (_type) => ID) id: string, @Ctx() ctx: Context) {
    await assertOwnerOf(ctx, 'Batch', id);
    return cancelBatch(ctx.app.services, ctx.viewer.id, id);
  }

  @Mutation((_returns) => BatchType, { description: "Queues the batch's FAILED children again." })
  async retryFailedJobs(@Arg('batchId', (_type) => ID) batchId: string, @Ctx() ctx: Context) {
    await assertOwnerOf(ctx, 'Batch', batchId);
    const submitter = { owner: ctx.viewer.id, organizationId: ctx.viewer.organizationId };
    return retryFailedJobs(ctx.app.services, submitter, batchId);
  }
}
