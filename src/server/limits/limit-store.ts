import type { Identity, Store } from 'graphql-rate-limit';

/** A user's points budget in its current window. */
export interface PointsBudget {
  /** Whether the points asked for were spent (false: they did not fit, nothing was spent). */
  spent: boolean;
  /** Points used in the window, this spend included when it happened. */
  used: number;
  /** When the window ends and `used` goes back to 0. */
  resetAt: Date;
}

/**
 * Where rate-limit calls and cost budgets are counted: in memory for one process, in Redis
 * for several. Every operation is atomic across all the processes sharing the store.
 *
 * It is graphql-rate-limit's `Store` with a stricter contract. That library's limiter reads
 * the calls in the window (`getForIdentity`), decides, then writes them back with this one
 * added (`setForIdentity`); with a plain get and set, two processes (or two requests
 * interleaved at the `await`) both read 9 of 10, both pass, and one write is lost. So here
 * `getForIdentity` returns the calls before this one *and records this one in the same
 * atomic step*: of two concurrent calls the second sees the first. `setForIdentity` then has
 * nothing left to do, and a call the limiter refused is taken back with `forget`, so that
 * refused calls do not count (a client retrying too early is not locked out for longer).
 */
export interface LimitStore extends Store {
  getForIdentity(identity: Identity): Promise<readonly number[]>;
  /** Nothing to do: `getForIdentity` recorded the call. */
  setForIdentity(identity: Identity, timestamps: readonly number[], windowMs?: number): Promise<void>;
  /** Takes back the newest call of `identity` (the one just refused). */
  forget(identity: Identity): Promise<void>;
  /** Milliseconds until one more call of `identity` fits under `max` calls per `windowMs`. */
  retryAfterMs(identity: Identity, max: number, windowMs: number): Promise<number>;
  /**
   * Spends `points` from `key`'s budget of `limit` points per window, only if they fit; a
   * window starts at the first spend after the previous one ended. 0 points reads the budget.
   */
  spendPoints(key: string, points: number, limit: number, windowMs: number): Promise<PointsBudget>;
  close(): Promise<void>;
}

/** One store key for an identity, the same in every adapter. */
export function identityKey(identity: Identity): string {
  return `${encodeURIComponent(identity.contextIdentity)}:${identity.fieldIdentity}`;
}

/** The retry delay from the timestamps in a window, oldest first (see `LimitStore.retryAfterMs`). */
export function retryAfterFrom(timestamps: readonly number[], max: number, windowMs: number, now: number): number {
  const inWindow = timestamps.filter((t) => t + windowMs > now).sort((a, b) => a - b);
  if (inWindow.length < max) return 0;
  // One more call fits once all but max-1 of them have left the window.
  return Math.max(0, inWindow[inWindow.length - max]! + windowMs - now);
}
