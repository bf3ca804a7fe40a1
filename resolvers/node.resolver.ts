import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { Context } from './context.js';
import { Node } from './types/node.type.js';

@Resolver()
export class NodeResolver {
  @Query((_returns) => Node, { nullable: true, description: 'A job or a batch of yours by id.' })
  async node(@Arg('id', (_type) => ID) id: string, @Ctx() ctx: Context) {
    // Jobs and batches share one id space (UUIDs), as they share the `jobs` collection in Firestore.
    const [job, batch] = await Promise.all([ctx.loaders.job.load(id), ctx.loaders.batch.load(id)]);
    return job ?? batch;
  }
}
