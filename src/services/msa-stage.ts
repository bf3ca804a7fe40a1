import type { BlobStore } from '../ports/blob-store.js';
import { MsaServerError, type MsaProvider } from '../ports/msa-provider.js';

export interface MsaStageOptions {
  /** Where a fault of a caller's `then` goes (the dispatcher's store or queue failing). */
  onFault: (error: unknown) => void;
  /** After a transient failure, no new search for the same file before this. @default 60_000 // 1 minute */
  retryAfterMs?: number;
  /**
   * A file whose searches have failed for this long since the first failure is given up:
   * the outcome is final, so its jobs fail (retryable by the user) instead of waiting forever.
   * @default 1_800_000 // 30 minutes
   */
  giveUpAfterMs?: number;
  clock?: () => number;
}

/**
 * How a search ended, for the dispatcher: stored, or why not. `final` failures end the
 * target's jobs (the server refused the sequence, or kept failing past `giveUpAfterMs`);
 * others leave them waiting for the next try.
 */
export type MsaSearchOutcome = { ok: true } | { ok: false; error: Error; final: boolean };

/**
 * Fetches targets' MSAs from the MSA server and stores each as a file of its batch (or job),
 * one search per file at a time in this process. The first caller's `then` runs when the
 * search ends; a caller arriving while it runs (the reaper's sweep of PENDING jobs) is told
 * it runs and adds nothing: its jobs are sent by a later sweep once the file is stored. A
 * search that failed for a transient reason is not repeated before `retryAfterMs`, so the
 * sweeps do not hammer a server that is down, and is given up after `giveUpAfterMs`.
 */
export class MsaStage {
  readonly #inFlight = new Map<string, Promise<void>>();
  /** When each file's searches started failing, for the give-up horizon; cleared by a success. */
  readonly #failingSince = new Map<string, number>();
  readonly #lastFailure = new Map<string, number>();
  readonly #stop = new AbortController();
  readonly #retryAfterMs: number;
  readonly #giveUpAfterMs: number;
  readonly #clock: () => number;
  readonly #onFault: (error: unknown) => void;

  constructor(
    private readonly blobs: BlobStore,
    private readonly provider: MsaProvider | null,
    options: MsaStageOptions,
  ) {
    this.#onFault = options.onFault;
    this.#retryAfterMs = options.retryAfterMs ?? 60_000;
    this.#giveUpAfterMs = options.giveUpAfterMs ?? 1_800_000;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Starts the search for `key` and calls `then` with its outcome. 'running' when a search
   * for `key` is already under way (`then` is not called), 'held' when a recent transient
   * failure holds the search back: either way, try again later.
   */
  search(key: string, sequence: string, then: (outcome: MsaSearchOutcome) => Promise<void>): 'started' | 'running' | 'held' {
    if (this.#inFlight.has(key)) return 'running';
    const failedAt = this.#lastFailure.get(key);
    if (failedAt !== undefined && this.#clock() - failedAt < this.#retryAfterMs) return 'held';
    const search = this.#run(key, sequence)
      .then(then)
      .catch(this.#onFault)
      .finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, search);
    return 'started';
  }

  /** Resolves when no search, and no follow-up of one, is running (tests and shutdown wait on it). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight.values()]);
  }

  /** Aborts the searches in flight; their jobs stay PENDING and the next start searches again. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.idle();
  }

  async #run(key: string, sequence: string): Promise<MsaSearchOutcome> {
    if (!this.provider) {
      return { ok: false, error: new MsaServerError('no MSA server is configured (OMTX_MSA_SERVER_URL)', false), final: true };
    }
    try {
      const csv = await this.provider.search(sequence, this.#stop.signal);
      await this.blobs.put(key, csv, 'text/csv');
      this.#failingSince.delete(key);
      this.#lastFailure.delete(key);
      return { ok: true };
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      if (error instanceof MsaServerError && !error.retryable) return { ok: false, error, final: true };
      const now = this.#clock();
      const since = this.#failingSince.get(key) ?? now;
      this.#failingSince.set(key, since);
      this.#lastFailure.set(key, now);
      if (this.#stop.signal.aborted) return { ok: false, error, final: false };
      return { ok: false, error, final: now - since >= this.#giveUpAfterMs };
    }
  }
}
