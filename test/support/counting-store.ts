import type { JobStore } from '../../src/ports/job-store.js';

export interface CountingStore {
  /** The store to put in place of the real one: every call is counted, then forwarded. */
  store: JobStore;
  /** Method names in call order since the last reset. */
  calls: string[];
  reset(): void;
}

/**
 * Wraps a real JobStore so a test can count the store calls a request makes. It is not a
 * fake: every call reaches the real store and returns its answer.
 */
export function countingStore(real: JobStore): CountingStore {
  const calls: string[] = [];
  const store = new Proxy(real, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, calls, reset: () => void calls.splice(0) };
}
