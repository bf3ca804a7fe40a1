import type { BlobStore } from '../ports/blob-store.js';
import { MsaServerError, type MsaProvider } from '../ports/msa-provider.js';

export interface MsaStageOptions {
  /** Where a fault of a caller's `then` goes (the dispatcher's store or queue failing). */
  onFault: (error: unknown) => void;
  /** After a transient failure, no new search for the same file before this. @default 60_000 // 1 minute */
  retryAfterMs?: number;
  clock?: () => number;
}

/** How a search ended, for the dispatcher: stored, or why not. */
export type MsaSearchOutcome = { ok: true } | { ok: false; error: MsaServerError | Error };

/**
 * Fetches targets' MSAs from the MSA server and stores each as a file of its batch (or job),
 * one search per file at a time in this process: every caller for the same file joins the
 * search in flight. A search that failed for a transient reason is not repeated before
 * `retryAfterMs`, so the reaper's sweeps do not hammer a server that is down.
 */
export class MsaStage {
  readonly #inFlight = new Map<string, Promise<MsaSearchOutcome>>();
  readonly #failedAt = new Map<string, number>();
  /** What callers do once a search ends (dispatch the target's jobs), awaited by `idle()`. */
  readonly #next = new Set<Promise<void>>();
  readonly #stop = new AbortController();
  readonly #retryAfterMs: number;
  readonly #clock: () => number;
  readonly #onFault: (error: unknown) => void;

  constructor(
    private readonly blobs: BlobStore,
    private readonly provider: MsaProvider | null,
    options: MsaStageOptions,
  ) {
    this.#onFault = options.onFault;
    this.#retryAfterMs = options.retryAfterMs ?? 60_000;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Starts the search for `key` (or joins the one running) and calls `then` with its
   * outcome. False when a recent transient failure holds the search back: try again later.
   */
  search(key: string, sequence: string, then: (outcome: MsaSearchOutcome) => Promise<void>): boolean {
    let running = this.#inFlight.get(key);
    if (!running) {
      const failedAt = this.#failedAt.get(key);
      if (failedAt !== undefined && this.#clock() - failedAt < this.#retryAfterMs) return false;
      running = this.#run(key, sequence).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, running);
    }
    const next = running
      .then(then)
      .catch(this.#onFault)
      .finally(() => this.#next.delete(next));
    this.#next.add(next);
    return true;
  }

  /** Resolves when no search, and nothing waiting on one, is running (tests and shutdown wait on it). */
  async idle(): Promise<void> {
    while (this.#next.size > 0) await Promise.allSettled([...this.#next]);
  }

  /** Aborts the searches in flight; their jobs stay PENDING and the next start searches again. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.idle();
  }

  async #run(key: string, sequence: string): Promise<MsaSearchOutcome> {
    if (!this.provider) {
      return { ok: false, error: new MsaServerError('no MSA server is configured (OMTX_MSA_SERVER_URL)', false) };
    }
    try {
      const csv = await this.provider.search(sequence, this.#stop.signal);
      await this.blobs.put(key, csv, 'text/csv');
      this.#failedAt.delete(key);
      return { ok: true };
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      if (!(error instanceof MsaServerError && !error.retryable)) this.#failedAt.set(key, this.#clock());
      return { ok: false, error };
    }
  }
}
