import { getFieldIdentity, getGraphQLRateLimiter, type Identity } from 'graphql-rate-limit';
import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import type { Logger } from 'pino';
import { RateLimitedError } from '../../domain/errors.js';
import type { LimitsConfig } from './limits-config.js';
import type { LimitStore } from './limit-store.js';
import { MemoryLimitStore } from './memory-limit-store.js';
import { RedisLimitStore } from './redis-limit-store.js';
import { costlyFields, type QueryCost } from './query-cost.js';

/** What every response reports in `extensions.cost` (Shopify's and GitHub's figures). */
export interface CostReport {
  /** Points this operation cost (0 when it was refused before its cost was known). */
  requested: number;
  /** Points left in the window after it. */
  remaining: number;
  /** ISO-8601: when the window ends and `remaining` is full again. */
  resetAt: string;
}

/** The viewer's budget, as `viewer.rateLimit` shows it. */
export interface BudgetStatus {
  limit: number;
  used: number;
  remaining: number;
  resetAt: Date;
}

/**
 * Rate limits per user per top-level field (graphql-rate-limit's limiter over a `LimitStore`)
 * and the per-user points budget that query costs are spent from. One per process.
 */
export class Limits {
  readonly #limiter: ReturnType<typeof getGraphQLRateLimiter>;

  constructor(
    readonly config: LimitsConfig,
    readonly store: LimitStore,
    private readonly logger: Logger,
  ) {
    this.#limiter = getGraphQLRateLimiter({
      store,
      identifyContext: (viewerId: string) => viewerId,
      formatError: ({ fieldName, max, window }) =>
        `rate limit: at most ${max} ${fieldName} calls per ${window / 1000} s per user`,
    });
  }

  /** Calls per window allowed for a top-level field; 0: no limit. */
  maxCallsFor(operation: 'query' | 'mutation', fieldName: string): number {
    const { rate } = this.config;
    if (operation === 'query') return rate.read;
    if (fieldName === 'submitBatch') return rate.submitBatch;
    if (fieldName === 'submitPrediction') return rate.submitPrediction;
    return rate.mutation;
  }

  /**
   * Counts one call of a top-level field by `viewerId`; throws RateLimitedError when it is
   * over the field's limit (the refused call does not count). A store that cannot be
   * reached lets the call through and logs: an outage of Redis must not stop the service.
   */
  async checkField(
    viewerId: string,
    operation: 'query' | 'mutation',
    info: GraphQLResolveInfo,
    args: Record<string, unknown>,
  ): Promise<void> {
    const max = this.maxCallsFor(operation, info.fieldName);
    if (max === 0) return;
    const windowMs = this.config.rateWindowSeconds * 1000;
    let message: string | undefined;
    try {
      message = await this.#limiter({ parent: undefined, args, context: viewerId, info }, { max, window: String(windowMs) });
      if (message === undefined) return;
      const identity: Identity = { contextIdentity: viewerId, fieldIdentity: getFieldIdentity(info.fieldName, [], args) };
      await this.store.forget(identity);
      const waitMs = await this.store.retryAfterMs(identity, max, windowMs);
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      message = `${message}; retry after ${seconds} s`;
      throw new RateLimitedError(message, seconds);
    } catch (error) {
      if (error instanceof RateLimitedError) throw error;
      this.logger.warn({ err: error }, 'rate-limit store unavailable; call let through');
    }
  }

  /** Refuses an operation over `maxQueryCost`, naming what costs what, before it runs. */
  assertWithinMaximum(cost: QueryCost): void {
    const maximum = this.config.maxQueryCost;
    if (cost.points <= maximum) return;
    throw new GraphQLError(
      `this operation would cost ${cost.points} points, over the maximum of ${maximum} per operation: ` +
        'ask for smaller pages (first/last) or nest fewer connections',
      {
        extensions: {
          code: 'BAD_USER_INPUT',
          cost: { requested: cost.points, maximum, requests: cost.requests },
          invalid: costlyFields(cost),
          http: { status: 400 },
        },
      },
    );
  }

  /**
   * Spends an operation's points from the viewer's budget. Over budget: nothing is spent and
   * `refusal` says when to come back. A store that cannot be reached lets it through.
   */
  async spend(viewerId: string, points: number): Promise<{ report: CostReport; refusal: RateLimitedError | null }> {
    const { costPointsPerWindow: limit, costWindowSeconds } = this.config;
    try {
      const budget = await this.store.spendPoints(viewerId, points, limit, costWindowSeconds * 1000);
      const report = { requested: points, remaining: limit - budget.used, resetAt: budget.resetAt.toISOString() };
      if (budget.spent) return { report, refusal: null };
      const seconds = Math.max(1, Math.ceil((budget.resetAt.getTime() - Date.now()) / 1000));
      const refusal = new RateLimitedError(
        `query cost budget exhausted: this operation costs ${points} points and ${report.remaining} of ${limit} remain ` +
          `until ${report.resetAt}; retry after ${seconds} s`,
        seconds,
      );
      return { report, refusal };
    } catch (error) {
      this.logger.warn({ err: error }, 'rate-limit store unavailable; operation let through');
      return { report: { requested: points, remaining: limit, resetAt: new Date().toISOString() }, refusal: null };
    }
  }

  /**
   * The viewer's budget now, without spending. A store that cannot be reached answers a full
   * budget (nothing used, reset now) and logs, as `spend` lets operations through meanwhile.
   */
  async budget(viewerId: string): Promise<BudgetStatus> {
    const { costPointsPerWindow: limit, costWindowSeconds } = this.config;
    try {
      const budget = await this.store.spendPoints(viewerId, 0, limit, costWindowSeconds * 1000);
      return { limit, used: budget.used, remaining: limit - budget.used, resetAt: budget.resetAt };
    } catch (error) {
      this.logger.warn({ err: error }, 'rate-limit store unavailable; budget answered as full');
      return { limit, used: 0, remaining: limit, resetAt: new Date() };
    }
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** Limits over Redis when `OMTX_REDIS_URL` is set, else over this process's memory. */
export function createLimits(config: LimitsConfig, logger: Logger): Limits {
  const windowMs = config.rateWindowSeconds * 1000;
  const store = config.redisUrl
    ? new RedisLimitStore(config.redisUrl, windowMs, 'omtx:', (error) => logger.warn({ err: error }, 'redis connection fault'))
    : new MemoryLimitStore(windowMs);
  return new Limits(config, store, logger);
}
