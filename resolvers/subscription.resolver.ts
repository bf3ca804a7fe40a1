import { Arg, Ctx, Field, ID, ObjectType, Resolver, Root, Subscription } from 'type-graphql';
import type { Context } from './context.js';
import { NotFoundError } from '../src/domain/errors.js';
import type { BatchEvent } from '../subscriptions/watch-hub.js';
import type { Job } from '../src/domain/job.js';
import { batchProgress } from '../src/services/progress.js';
import { JobType } from './types/job.type.js';
import { BatchProgressType, BatchType } from './types/batch.type.js';

@ObjectType('BatchProgressEvent', { simpleResolvers: true })
export class BatchProgressEventType {
  @Field((_type) => BatchType) batch!: BatchType;
  @Field((_type) => BatchProgressType) progress!: BatchProgressType;
  @Field((_type) => [JobType], { description: 'Children that changed since your previous event (at most 500).' })
  changedJobs!: JobType[];
}

interface SubscribeArgs {
  args: { id: string };
  context: Context;
}

@Resolver()
export class SubscriptionResolver {
  @Subscription((_returns) => JobType, {
    description: 'The current state first, then each change; completes after the terminal state.',
    // Readable by the viewer (owner, or shared with their organization), else NOT_FOUND.
    subscribe: async ({ args, context }: SubscribeArgs) => {
      const job = await context.loaders.job.load(args.id);
      if (!job) throw new NotFoundError('Job', args.id);
      return context.app.hub.watchJob(job.owner, args.id);
    },
  })
  jobUpdated(@Root() job: Job, @Arg('id', (_type) => ID) _id: string): Job {
    return job;
  }

  @Subscription((_returns) => BatchProgressEventType, {
    description: 'Current progress first, then changes (bursts coalesced); completes after the terminal state.',
    subscribe: async ({ args, context }: SubscribeArgs) => {
      const batch = await context.loaders.batch.load(args.id);
      if (!batch) throw new NotFoundError('Batch', args.id);
      return context.app.hub.watchBatch(batch.owner, args.id);
    },
  })
  batchProgress(@Root() event: BatchEvent, @Arg('id', (_type) => ID) _id: string, @Ctx() ctx: Context) {
    return { batch: event.batch, progress: batchProgress(event.batch, ctx.app.clock()), changedJobs: event.changedJobs };
  }
}
