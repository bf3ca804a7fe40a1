import 'reflect-metadata';
import { buildSchema } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import { DateTimeScalar } from './types/date-time.scalar.js';
import { JobResolver } from './job.resolver.js';
import { BatchResolver, BatchSummaryResolver } from './batch.resolver.js';
import { AffinityResolver, ResultResolver } from './result.resolver.js';
import { MutationResolver } from './mutation.resolver.js';
import { NodeResolver } from './node.resolver.js';
import { ModelResolver } from './model.resolver.js';
import { SubscriptionResolver } from './subscription.resolver.js';
import { CostResolver } from './cost.resolver.js';
import { BatchMsaResolver, JobMsaResolver } from './msa.resolver.js';
import { JobFailureLogResolver } from './failure-log.resolver.js';
import { ViewerQuotaResolver } from './quota.resolver.js';
import { BatchWebhookResolver, ViewerWebhookResolver } from './webhook.resolver.js';
import { ViewerRateLimitResolver } from './rate-limit.resolver.js';
import { rateLimitRootFields } from '../src/server/limits/rate-limit-fields.js';
import { ApiKeyResolver, ViewerAuthResolver } from './api-key.resolver.js';
import { BatchSharingResolver, JobSharingResolver } from './sharing.resolver.js';

export const RESOLVERS = [
  JobResolver,
  BatchResolver,
  BatchSummaryResolver,
  ResultResolver,
  AffinityResolver,
  MutationResolver,
  NodeResolver,
  ModelResolver,
  SubscriptionResolver,
  BatchMsaResolver,
  JobMsaResolver,
  JobFailureLogResolver,
  CostResolver,
  ViewerQuotaResolver,
  BatchWebhookResolver,
  ViewerWebhookResolver,
  ViewerRateLimitResolver,
  ApiKeyResolver,
  ViewerAuthResolver,
  JobSharingResolver,
  BatchSharingResolver,
] as const;

/**
 * The executable schema, built once per process from the type-graphql classes. Object types
 * declare `simpleResolvers: true`: their plain fields are read straight off the domain
 * objects by graphql-js, without type-graphql's per-field middleware wrapper (we use none).
 */
export async function buildApiSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: RESOLVERS,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validate: false,
    // Every subscription brings its own `subscribe` (subscriptions/watch-hub.ts, fed by the
    // ChangeFeed), but type-graphql refuses to build subscriptions without a PubSub.
    pubSub: {
      publish: () => {
        throw new Error('OMTX-Hub publishes through the ChangeFeed, not type-graphql PubSub');
      },
      subscribe: () => {
        throw new Error('OMTX-Hub subscriptions subscribe through the WatchHub');
      },
    },
  });
  // Each top-level query and mutation field counts against the viewer's rate limit for it.
  return rateLimitRootFields(schema);
}
