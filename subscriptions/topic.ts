import type { Unsubscribe } from '../src/ports/change-feed.js';
import { CoalescingStream } from './coalescing-stream.js';

export interface TopicSource<State, Change> {
  /** Starts the one upstream listener this topic holds while it has subscribers. */
  listen(onChange: (change: Change) => void): Unsubscribe;
  /** Reads the current state once for a flush; `changes` are those since the last flush. */
  read(changes: Change[]): Promise<State>;
  /** The state a newcomer starts from (the same read, without the others' news). */
  initial(state: State): State;
  isTerminal(state: State): boolean;
  /** Delivers the changes committed so far (the feed may lag the state a read saw). */
  catchUp(): Promise<void>;
  merge(older: State, newer: State): State;
}

/** How a topic rides out a store that cannot be read (Firestore unreachable, say). */
export interface ReadRetry {
  /** @default 250 // ms before the first retry, doubling after each failure */
  firstDelayMs: number;
  /** @default 5_000 // ms between retries at most */
  maxDelayMs: number;
  /** Reads failing for this long end every stream (clients may subscribe again). @default 300_000 // 5 minutes */
  giveUpAfterMs: number;
}

export const DEFAULT_READ_RETRY: ReadRetry = { firstDelayMs: 250, maxDelayMs: 5_000, giveUpAfterMs: 300_000 };

/**
 * One watched object (a job, a batch) in one process: one upstream listener shared by all
 * its subscribers, reference-counted. Reads run one at a time, so states only move
 * forward; changes that arrive during a read wait for the next one (that is the
 * coalescing), and flushes start at least `minIntervalMs` apart. A newcomer's first event is
 * the current state from the next read; after a terminal state every stream completes. A
 * read that fails is tried again with backoff, keeping its changes and newcomers, so a store
 * outage delays events instead of ending subscriptions; only `readRetry.giveUpAfterMs` of
 * failures ends them.
 */
export class Topic<State, Change> {
  private readonly members = new Set<CoalescingStream<State>>();
  private newcomers: CoalescingStream<State>[] = [];
  private changes: Change[] = [];
  private flushing = false;
  private lastFlush = 0;
  private stopListening: Unsubscribe | null = null;
  private closed = false;
  /** Since when reads have been failing, and when the next may be tried; null while they succeed. */
  private failing: { since: number; retryAt: number; delayMs: number } | null = null;

  constructor(
    private readonly source: TopicSource<State, Change>,
    private readonly onEmpty: () => void,
    private readonly onError: (error: unknown) => void,
    private readonly minIntervalMs: number,
    private readonly readRetry: ReadRetry = DEFAULT_READ_RETRY,
  ) {}

  subscribe(): CoalescingStream<State> {
    const stream: CoalescingStream<State> = new CoalescingStream(this.source.merge, () => this.leave(stream));
    this.newcomers.push(stream);
    this.stopListening ??= this.source.listen((change) => {
      this.changes.push(change);
      this.schedule();
    });
    this.schedule();
    return stream;
  }

  get size(): number {
    return this.members.size + this.newcomers.length;
  }

  private leave(stream: CoalescingStream<State>): void {
    this.members.delete(stream);
    this.newcomers = this.newcomers.filter((s) => s !== stream);
    if (this.size === 0) this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopListening?.();
    this.onEmpty();
  }

  private schedule(): void {
    if (this.flushing || this.closed) return;
    this.flushing = true;
    const now = Date.now();
    const wait = Math.max(0, this.lastFlush + this.minIntervalMs - now, (this.failing?.retryAt ?? 0) - now);
    setTimeout(() => void this.flush(), wait);
  }

  private async flush(): Promise<void> {
    let joining: CoalescingStream<State>[] = [];
    try {
      if (!this.closed && (this.changes.length > 0 || this.newcomers.length > 0)) {
        const changes = this.changes;
        joining = this.newcomers;
        this.changes = [];
        this.newcomers = [];
        this.lastFlush = Date.now();
        let state: State;
        try {
          state = await this.source.read(changes);
        } catch (error) {
          if (!this.retryLater(error)) throw error;
          // Nothing was delivered: the next read takes these changes and newcomers again.
          this.changes = [...changes, ...this.changes];
          // (A newcomer that left while the read ran is not taken back.)
          this.newcomers = [...joining.filter((stream) => !stream.isEnded), ...this.newcomers];
          joining = [];
          return;
        }
        this.failing = null;
        if (changes.length > 0) for (const member of this.members) member.push(state);
        const first = this.source.initial(state);
        for (const stream of joining.filter((s) => !s.isEnded)) {
          stream.push(first);
          this.members.add(stream);
        }
        if (this.source.isTerminal(state)) {
          // The read may have seen the terminal state before the feed brought the last
          // changes (another process committed them): take those in a last event first.
          await this.source.catchUp();
          if (this.changes.length > 0) {
            const last = await this.source.read(this.changes);
            this.changes = [];
            for (const member of this.members) member.push(last);
          }
          for (const member of [...this.members]) member.end();
          return;
        }
      }
    } catch (error) {
      // Reads failing for too long end every stream rather than leaving subscribers waiting
      // forever; clients see the subscription complete and may subscribe again.
      this.onError(error);
      for (const member of [...this.members, ...this.newcomers, ...joining]) member.end();
    } finally {
      this.flushing = false;
      if (!this.closed && (this.changes.length > 0 || this.newcomers.length > 0)) this.schedule();
    }
  }

  /** Records a failed read; false once reads have failed for longer than `giveUpAfterMs`. */
  private retryLater(error: unknown): boolean {
    const now = Date.now();
    const delayMs =
      this.failing === null ? this.readRetry.firstDelayMs : Math.min(this.failing.delayMs * 2, this.readRetry.maxDelayMs);
    const since = this.failing?.since ?? now;
    if (now - since >= this.readRetry.giveUpAfterMs) return false;
    this.onError(error);
    this.failing = { since, retryAt: now + delayMs, delayMs };
    return true;
  }
}
