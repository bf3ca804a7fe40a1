import { Arg, Args, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { affinityUnitOf, type Batch } from '../src/domain/job.js';
import { InvalidInputError } from '../src/domain/errors.js';
import { batchProgress } from '../src/services/progress.js';
import { exportBatch } from '../src/services/export-batch.js';
import type { Context } from './context.js';
import { BatchProgressType, BatchType } from './types/batch.type.js';
import { BatchConnectionType, JobConnectionType } from './types/connection.type.js';
import { BatchSummaryType } from './types/summary.type.js';
import { UsageType, toUsageType } from './types/cost.type.js';
import { ArtifactType } from './types/result.type.js';
import { JobType } from './types/job.type.js';
import { ExportFormat, OrderDirection, BatchJobOrderField } from './types/enums.js';
import { ConnectionArgs, checkConnectionArgs } from './inputs/connection.args.js';
import { BatchFilter, BatchJobFilter, BatchJobOrder } from './inputs/filter.input.js';
import { toConnection } from './connection.js';
import { signArtifact } from './result.resolver.js';
import { MAX_PAGE_SIZE } from '../src/ports/page.js';

@Resolver((_of) => BatchType)
export class BatchResolver {
  @Query((_returns) => BatchType, { nullable: true, description: 'Null when no batch of yours has this id.' })
  async batch(@Arg('id', (_type) => ID) id: string, @Ctx() ctx: Context): Promise<Batch | null> {
    return ctx.loaders.batch.load(id);
  }

  @Query((_returns) => BatchConnectionType, { description: 'Your batches, newest first.' })
  async batches(
    @Args((_type) => ConnectionArgs) args: ConnectionArgs,
    @Arg('filter', (_type) => BatchFilter, { nullable: true }) filter: BatchFilter | null,
    @Ctx() ctx: Context,
  ) {
    checkConnectionArgs(args);
    const page = await ctx.app.jobs.listBatches(ctx.viewer.id, filter ?? {}, args);
    for (const edge of page.edges) ctx.loaders.batch.prime(edge.node.id, edge.node);
    return toConnection(page);
  }

  @FieldResolver((_returns) => BatchProgressType)
  progress(@Root() batch: Batch, @Ctx() ctx: Context) {
    return batchProgress(batch, ctx.app.clock());
  }

  @FieldResolver((_returns) => JobConnectionType, { description: 'By index unless ordered otherwise.' })
  async jobs(
    @Root() batch: Batch,
    @Args((_type) => ConnectionArgs) args: ConnectionArgs,
    @Arg('filter', (_type) => BatchJobFilter, { nullable: true }) filter: BatchJobFilter | null,
    @Arg('orderBy', (_type) => BatchJobOrder, { nullable: true }) orderBy: BatchJobOrder | null,
    @Ctx() ctx: Context,
  ) {
    checkConnectionArgs(args);
    const order = orderBy ?? { field: BatchJobOrderField.INDEX, direction: OrderDirection.ASC };
    const page = await ctx.app.jobs.listBatchJobs(batch.id, filter ?? {}, order, args);
    for (const edge of page.edges) ctx.loaders.job.prime(edge.node.id, edge.node);
    return toConnection(page);
  }

  @FieldResolver((_returns) => UsageType, { description: "The children's usage summed, exact and up to date with the counters." })
  usage(@Root() batch: Batch): UsageType {
    return toUsageType(batch.usage);
  }

  @FieldResolver((_returns) => BatchSummaryType)
  async summary(@Root() batch: Batch, @Ctx() ctx: Context) {
    const stats = await ctx.app.jobs.batchStats(batch.id);
    return {
      batchId: batch.id,
      bestAffinity: stats.bestAffinity,
      meanAffinity: stats.meanAffinity,
      unit: affinityUnitOf(batch.model),
      scored: stats.withAffinity,
      counts: batchProgress(batch, ctx.app.clock()),
    };
  }

  @FieldResolver((_returns) => ArtifactType, {
    nullable: true,
    description: 'Ranked results as a file, made on request and kept until the batch changes.',
  })
  async export(@Root() batch: Batch, @Arg('format', (_type) => ExportFormat) format: ExportFormat, @Ctx() ctx: Context) {
    const artifact = await exportBatch(ctx.app, batch, format);
    return artifact === null ? null : signArtifact(ctx, artifact);
  }
}

@Resolver((_of) => BatchSummaryType)
export class BatchSummaryResolver {
  @FieldResolver((_returns) => [JobType], { description: 'The n best-scoring children (lowest affinity first).' })
  async top(
    @Root() summary: { batchId: string },
    @Arg('n', (_type) => Int, { defaultValue: 10 }) n: number,
    @Ctx() ctx: Context,
  ) {
    if (n < 1 || n > MAX_PAGE_SIZE) {
      throw new InvalidInputError([{ path: ['n'], message: `must be between 1 and ${MAX_PAGE_SIZE}, got ${n}` }]);
    }
    const page = await ctx.app.jobs.listBatchJobs(
      summary.batchId,
      { status: 'COMPLETED' },
      { field: 'AFFINITY', direction: 'ASC' },
      { first: n },
    );
    return page.edges.map((e) => e.node).filter((j) => j.result?.affinity != null);
  }
}
