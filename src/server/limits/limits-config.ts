import { z } from 'zod';

/**
 * The settings of rate limits and query cost, spread into the configuration schema
 * (`src/config.ts`). A rate limit of 0 turns that limit off.
 */
export const limitsEnv = {
  /** The sliding window of the per-field rate limits. @default 60 // seconds */
  OMTX_RATE_WINDOW_SECONDS: z.coerce.number().min(1).max(86_400).default(60),
  /** `submitBatch` calls per user per window. */
  OMTX_RATE_SUBMIT_BATCH: z.coerce.number().int().min(0).max(1_000_000).default(10),
  /** `submitPrediction` calls per user per window. */
  OMTX_RATE_SUBMIT_PREDICTION: z.coerce.number().int().min(0).max(1_000_000).default(120),
  /** Calls of each other mutation field per user per window. */
  OMTX_RATE_MUTATION: z.coerce.number().int().min(0).max(1_000_000).default(120),
  /** Calls of each top-level query field per user per window. */
  OMTX_RATE_READ: z.coerce.number().int().min(0).max(1_000_000).default(600),
  /** Shares limits and budgets between api instances; unset: each process counts alone, in memory. */
  OMTX_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** The most points one operation may cost; a costlier one is refused before it runs. */
  OMTX_MAX_QUERY_COST: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  /** Points each user may spend per cost window (GitHub: 5,000 an hour). */
  OMTX_COST_POINTS_PER_HOUR: z.coerce.number().int().min(1).max(100_000_000).default(5_000),
  /** The budget's window, which starts at a user's first operation. @default 3600 // an hour */
  OMTX_COST_WINDOW_SECONDS: z.coerce
    .number()
    .min(1)
    .max(7 * 86_400)
    .default(3_600),
  /**
   * The most points one event of a subscription may cost (its selection below the root, run
   * again for every event); a costlier subscription is refused at subscribe.
   * @default 1 // point: at most 100 page requests per event
   */
  OMTX_MAX_SUBSCRIPTION_EVENT_COST: z.coerce.number().int().min(1).max(1_000_000).default(1),
  /** Subscriptions one user may have open at once on one api process; 0: no limit. */
  OMTX_MAX_SUBSCRIPTIONS_PER_USER: z.coerce.number().int().min(0).max(1_000_000).default(50),
  /** The most lexical tokens a document may have (put large inputs in variables). */
  OMTX_MAX_TOKENS: z.coerce.number().int().min(100).max(10_000_000).default(50_000),
};

type LimitsEnv = z.infer<z.ZodObject<typeof limitsEnv>>;

export interface LimitsConfig {
  /** Calls per `rateWindowSeconds`, by kind of top-level field; 0: no limit. */
  rate: { submitBatch: number; submitPrediction: number; mutation: number; read: number };
  rateWindowSeconds: number;
  /** null: an in-memory store (one process). */
  redisUrl: string | null;
  maxQueryCost: number;
  /** Points each user may spend per `costWindowSeconds`. */
  costPointsPerWindow: number;
  costWindowSeconds: number;
  /** The most points one event of a subscription may cost. */
  maxSubscriptionEventCost: number;
  /** Open subscriptions per user per process; 0: no limit. */
  maxSubscriptionsPerUser: number;
  maxTokens: number;
}

export function limitsConfigFrom(c: LimitsEnv): LimitsConfig {
  return {
    rate: {
      submitBatch: c.OMTX_RATE_SUBMIT_BATCH,
      submitPrediction: c.OMTX_RATE_SUBMIT_PREDICTION,
      mutation: c.OMTX_RATE_MUTATION,
      read: c.OMTX_RATE_READ,
    },
    rateWindowSeconds: c.OMTX_RATE_WINDOW_SECONDS,
    redisUrl: c.OMTX_REDIS_URL ?? null,
    maxQueryCost: c.OMTX_MAX_QUERY_COST,
    costPointsPerWindow: c.OMTX_COST_POINTS_PER_HOUR,
    costWindowSeconds: c.OMTX_COST_WINDOW_SECONDS,
    maxSubscriptionEventCost: c.OMTX_MAX_SUBSCRIPTION_EVENT_COST,
    maxSubscriptionsPerUser: c.OMTX_MAX_SUBSCRIPTIONS_PER_USER,
    maxTokens: c.OMTX_MAX_TOKENS,
  };
}
