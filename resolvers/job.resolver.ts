import { Arg, Args, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import type { Job } from '../src/domain/job.js';
import type { Context } from './context.js';
import { JobType } from './types/job.type.js';
import { BatchType } from './types/batch.type.js';
import { ProteinType } from './types/chemistry.type.js';
import { UsageType, toUsageType } from './types/cost.type.js';
import { JobConnectionType } from './types/connection.type.js';
import { ConnectionArgs, checkConnectionArgs } from './inputs/connection.args.js';
import { JobFilter } from './inputs/filter.input.js';
import { toConnection } from './connection.js';
import { NotFoundError } from '../src/domain/errors.js';

@Resolver((_of) => JobType)
export class JobResolver {
  @Query((_returns) => JobType, { nullable: true, description: 'Null when no job of yours has this id.' })
  async job(@Arg('id', (_type) => ID) id: string, @Ctx() ctx: Context): Promise<Job | null> {
    return ctx.loaders.job.load(id);
  }

  @Query((_returns) => JobConnectionType, { description: 'Newest first. Without kind or batchId: your individual jobs.' })
  async jobs(
    @Args((_type) => ConnectionArgs) args: ConnectionArgs,
    @Arg('filter', (_type) => JobFilter, { nullable: true }) filter: JobFilter | null,
    @Ctx() ctx: Context,
  ) {
    checkConnectionArgs(args);
    const page = await ctx.app.jobs.listJobs(ctx.viewer.id, filter ?? {}, args);
    for (const edge of page.edges) ctx.loaders.job.prime(edge.node.id, edge.node);
    return toConnection(page);
  }

  @FieldResolver((_returns) => BatchType, { nullable: true })
  async batch(@Root() job: Job, @Ctx() ctx: Context) {
    return job.batchId === null ? null : ctx.loaders.batch.load(job.batchId);
  }

  @FieldResolver((_returns) => ProteinType, { description: "A batch child's protein is its batch's." })
  async protein(@Root() job: Job, @Ctx() ctx: Context) {
    if (job.protein !== null) return job.protein;
    const batch = await ctx.loaders.batch.load(job.batchId!);
    if (!batch) throw new NotFoundError('Batch', job.batchId!);
    return batch.protein;
  }

  @FieldResolver((_returns) => Number, { nullable: true })
  runtimeSeconds(@Root() job: Job): number | null {
    if (!job.startedAt || !job.completedAt) return null;
    return (job.completedAt.getTime() - job.startedAt.getTime()) / 1000;
  }

  @FieldResolver((_returns) => UsageType, {
    nullable: true,
    description: 'What its attempts were billed, every attempt summed; null until an attempt reports.',
  })
  usage(@Root() job: Job): UsageType | null {
    return job.usage === null ? null : toUsageType(job.usage);
  }
}
