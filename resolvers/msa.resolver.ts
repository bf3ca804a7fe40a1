import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { Batch, Job, ModelName, Parameters, Protein } from '../src/domain/job.js';
import { msaKey, msaPlanOf } from '../src/domain/msa.js';
import type { Context } from './context.js';
import { signArtifact } from './result.resolver.js';
import { statOnce } from './blob-stat.js';
import { BatchType } from './types/batch.type.js';
import { JobType } from './types/job.type.js';
import { ArtifactType } from './types/result.type.js';

const DESCRIPTION =
  'BOLTZ2: the MSA every ligand input pointed at (uploaded, or from the MSA server), once stored. ' +
  'Null in single-sequence mode, for VINA, and while the MSA search runs.';

@Resolver((_of) => BatchType)
export class BatchMsaResolver {
  @FieldResolver((_returns) => ArtifactType, { nullable: true, description: DESCRIPTION })
  async msa(@Root() batch: Batch, @Ctx() ctx: Context) {
    return msaArtifact(ctx, { batchId: batch.id }, batch.model, batch.protein, batch.parameters);
  }
}

@Resolver((_of) => JobType)
export class JobMsaResolver {
  @FieldResolver((_returns) => ArtifactType, { nullable: true, description: `${DESCRIPTION} A batch child shares its batch's.` })
  async msa(@Root() job: Job, @Ctx() ctx: Context) {
    if (job.batchId !== null) {
      const batch = await ctx.loaders.batch.load(job.batchId);
      return batch ? msaArtifact(ctx, { batchId: batch.id }, batch.model, batch.protein, batch.parameters) : null;
    }
    return msaArtifact(ctx, { jobId: job.id }, job.model, job.protein!, job.parameters);
  }
}

async function msaArtifact(
  ctx: Context,
  owner: { batchId: string } | { jobId: string },
  model: ModelName,
  protein: Protein,
  parameters: Parameters,
) {
  const plan = msaPlanOf(model, protein, parameters);
  if (plan === null || plan.kind === 'EMPTY') return null;
  const key = msaKey(owner, plan.fileName);
  const stored = await statOnce(ctx, key);
  return stored && signArtifact(ctx, { name: plan.fileName, key, contentType: stored.contentType, sizeBytes: stored.sizeBytes });
}
