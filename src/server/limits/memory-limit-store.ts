import type { Identity } from 'graphql-rate-limit';
import { identityKey, retryAfterFrom, type LimitStore, type PointsBudget } from './limit-store.js';

/** Past this many keys, a read also drops the keys whose calls and budgets all expired. */
const SWEEP_ABOVE_KEYS = 10_000;

/**
 * The embedded default: counts in this process's memory. graphql-rate-limit ships an
 * `InMemoryStore`, but its limiter awaits between the read and the write, so two requests
 * interleaved there both pass; this store records the call at the read (see `LimitStore`).
 */
export class MemoryLimitStore implements LimitStore {
  readonly #calls = new Map<string, number[]>();
  readonly #budgets = new Map<string, { used: number; resetAt: number }>();

  /** @param windowMs the rate limits' window: calls older than it are dropped at each read. */
  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async getForIdentity(identity: Identity): Promise<readonly number[]> {
    const at = this.now();
    if (this.#calls.size + this.#budgets.size > SWEEP_ABOVE_KEYS) this.#sweep(at);
    const key = identityKey(identity);
    const prior = (this.#calls.get(key) ?? []).filter((t) => t + this.windowMs > at);
    this.#calls.set(key, [...prior, at]);
    return prior;
  }

  async setForIdentity(): Promise<void> {}

  async forget(identity: Identity): Promise<void> {
    this.#calls.get(identityKey(identity))?.pop();
  }

  async retryAfterMs(identity: Identity, max: number, windowMs: number): Promise<number> {
    return retryAfterFrom(this.#calls.get(identityKey(identity)) ?? [], max, windowMs, this.now());
  }

  async spendPoints(key: string, points: number, limit: number, windowMs: number): Promise<PointsBudget> {
    const at = this.now();
    let budget = this.#budgets.get(key);
    if (!budget || budget.resetAt <= at) budget = { used: 0, resetAt: at + windowMs };
    const spent = budget.used + points <= limit;
    if (spent && points > 0) {
      budget.used += points;
      this.#budgets.set(key, budget);
    }
    return { spent, used: budget.used, resetAt: new Date(budget.resetAt) };
  }

  async close(): Promise<void> {
    this.#calls.clear();
    this.#budgets.clear();
  }

  #sweep(at: number): void {
    for (const [key, calls] of this.#calls) if (calls.every((t) => t + this.windowMs <= at)) this.#calls.delete(key);
    for (const [key, budget] of this.#budgets) if (budget.resetAt <= at) this.#budgets.delete(key);
  }
}
