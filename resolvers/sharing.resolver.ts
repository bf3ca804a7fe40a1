import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { Batch, Job } from '../src/domain/job.js';
import type { Context } from './context.js';
import { BatchType } from './types/batch.type.js';
import { JobType } from './types/job.type.js';

const SHARED = 'Whether members of the owner’s organization may read it (submitted with shareWithOrganization).';
const MINE = 'Whether it is yours: only its owner may cancel or retry it.';

@Resolver((_of) => JobType)
export class JobSharingResolver {
  @FieldResolver((_returns) => Boolean, { description: SHARED })
  sharedWithOrganization(@Root() job: Job): boolean {
    return job.sharedWithOrganization;
  }

  @FieldResolver((_returns) => Boolean, { description: MINE })
  viewerIsOwner(@Root() job: Job, @Ctx() ctx: Context): boolean {
    return job.owner === ctx.viewer.id;
  }
}

@Resolver((_of) => BatchType)
export class BatchSharingResolver {
  @FieldResolver((_returns) => Boolean, { description: SHARED })
  sharedWithOrganization(@Root() batch: Batch): boolean {
    return batch.sharedWithOrganization;
  }

  @FieldResolver((_returns) => Boolean, { description: MINE })
  viewerIsOwner(@Root() batch: Batch, @Ctx() ctx: Context): boolean {
    return batch.owner === ctx.viewer.id;
  }
}
