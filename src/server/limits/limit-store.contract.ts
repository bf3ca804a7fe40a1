import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Identity } from 'graphql-rate-limit';
import type { LimitStore } from './limit-store.js';

/** One store under test, fresh and empty, whose rate window is `windowMs`. */
export interface LimitStoreHarness {
  store: LimitStore;
  close(): Promise<void>;
}

const WINDOW_MS = 400;

const identity = (user: string, field = 'submitBatch'): Identity => ({ contextIdentity: user, fieldIdentity: field });

/** Resolves after `ms`; the windows under test are real time. */
const after = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What every LimitStore adapter guarantees: each operation is atomic, so concurrent callers
 * (in one process or several) can never both take the last call or the last point.
 */
export function describeLimitStoreContract(name: string, makeStore: (windowMs: number) => Promise<LimitStoreHarness>): void {
  describe(`${name} (LimitStore contract)`, () => {
    let harness: LimitStoreHarness;
    let store: LimitStore;

    beforeEach(async () => {
      harness = await makeStore(WINDOW_MS);
      store = harness.store;
    });
    afterEach(async () => {
      await harness.close();
    });

    it('records each call at the read, so concurrent reads each see the calls before them', async () => {
      const seen = await Promise.all(Array.from({ length: 25 }, () => store.getForIdentity(identity('ada'))));
      expect(seen.map((calls) => calls.length).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    });

    it('keeps users and fields apart', async () => {
      await store.getForIdentity(identity('ada'));
      await store.getForIdentity(identity('ada'));
      expect(await store.getForIdentity(identity('bob'))).toHaveLength(0);
      expect(await store.getForIdentity(identity('ada', 'submitPrediction'))).toHaveLength(0);
      expect(await store.getForIdentity(identity('ada'))).toHaveLength(2);
    });

    it('takes back the newest call with forget', async () => {
      await store.getForIdentity(identity('ada'));
      await store.getForIdentity(identity('ada'));
      await store.forget(identity('ada'));
      expect(await store.getForIdentity(identity('ada'))).toHaveLength(1);
    });

    it('drops calls older than the window', async () => {
      await store.getForIdentity(identity('ada'));
      await after(WINDOW_MS + 50);
      expect(await store.getForIdentity(identity('ada'))).toHaveLength(0);
    });

    it('says how long until one more call fits', async () => {
      const start = Date.now();
      await store.getForIdentity(identity('ada'));
      await store.getForIdentity(identity('ada'));
      expect(await store.retryAfterMs(identity('ada'), 3, WINDOW_MS)).toBe(0);
      const wait = await store.retryAfterMs(identity('ada'), 2, WINDOW_MS);
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(WINDOW_MS - (Date.now() - start) + 5);
    });

    it('spends points only while they fit, and reads the budget with 0 points', async () => {
      const first = await store.spendPoints('ada', 7, 10, 60_000);
      expect(first).toMatchObject({ spent: true, used: 7 });
      expect(first.resetAt.getTime()).toBeGreaterThan(Date.now() + 59_000);
      expect(await store.spendPoints('ada', 4, 10, 60_000)).toMatchObject({ spent: false, used: 7 });
      expect(await store.spendPoints('ada', 3, 10, 60_000)).toMatchObject({ spent: true, used: 10 });
      const read = await store.spendPoints('ada', 0, 10, 60_000);
      expect(read).toMatchObject({ spent: true, used: 10 });
      expect(read.resetAt).toEqual(first.resetAt);
      expect(await store.spendPoints('bob', 0, 10, 60_000)).toMatchObject({ used: 0 });
    });

    it('never spends more than the limit under concurrent spends', async () => {
      const results = await Promise.all(Array.from({ length: 60 }, () => store.spendPoints('ada', 1, 20, 60_000)));
      expect(results.filter((r) => r.spent)).toHaveLength(20);
      expect((await store.spendPoints('ada', 0, 20, 60_000)).used).toBe(20);
    });

    it('starts a new budget window once the previous one ended', async () => {
      const first = await store.spendPoints('ada', 5, 5, WINDOW_MS);
      expect((await store.spendPoints('ada', 1, 5, WINDOW_MS)).spent).toBe(false);
      await after(first.resetAt.getTime() - Date.now() + 20);
      const next = await store.spendPoints('ada', 1, 5, WINDOW_MS);
      expect(next).toMatchObject({ spent: true, used: 1 });
      expect(next.resetAt.getTime()).toBeGreaterThan(first.resetAt.getTime());
    });
  });
}
