import { Ctx, FieldResolver, Info, Resolver } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from './context.js';
import { ViewerType } from './types/model.type.js';
import { RateLimitType } from './types/rate-limit.type.js';
import { operationCost } from '../src/server/limits/query-cost.js';

@Resolver((_of) => ViewerType)
export class ViewerRateLimitResolver {
  @FieldResolver((_returns) => RateLimitType, {
    description: 'Your query-cost budget now, after this operation was paid for.',
  })
  async rateLimit(@Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<RateLimitType> {
    // The same figure the server charged: computed again from the operation being executed.
    const cost = operationCost(info.schema, info.operation, info.fragments, info.variableValues);
    const budget = await ctx.app.limits.budget(ctx.viewer.id);
    return { limit: budget.limit, cost: cost.points, used: budget.used, remaining: budget.remaining, resetAt: budget.resetAt };
  }
}
