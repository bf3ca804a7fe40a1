import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { failureLogKey } from '../src/domain/artifact-keys.js';
import type { Job } from '../src/domain/job.js';
import type { Context } from './context.js';
import { signArtifact } from './result.resolver.js';
import { statOnce } from './blob-stat.js';
import { JobType } from './types/job.type.js';
import { ArtifactType } from './types/result.type.js';

@Resolver((_of) => JobType)
export class JobFailureLogResolver {
  @FieldResolver((_returns) => ArtifactType, {
    nullable: true,
    description:
      'The model’s log of the latest attempt that failed (for good, or before a retry), while the job shows that error: ' +
      'why Boltz skipped the input, what Vina said. Null when there is none.',
  })
  async failureLog(@Root() job: Job, @Ctx() ctx: Context) {
    // Only a job showing an error can have one: a page of healthy jobs costs no lookups.
    if (job.error === null) return null;
    const key = failureLogKey(job);
    const stored = await statOnce(ctx, key);
    return stored && signArtifact(ctx, { name: 'log.txt', key, contentType: stored.contentType, sizeBytes: stored.sizeBytes });
  }
}
