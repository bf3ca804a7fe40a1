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

/**
 * One watched object (a job, a batch) in one process: one upstream listener shared by all
 * its subscribers, reference-counted. Reads run one at a time, so states only move
 * forward; changes that arrive during a read wait for the next one (that is the
 * coalescing), and flushes start at least `minIntervalMs` apart. A newcomer's first event is
 * the current state from the next read; after a terminal state every stream completes.
 */
export class Topic<State, Change> {
  private readonly members = new Set<CoalescingStream<State>>();
  private newcomers: CoalescingStream<State>[] = [];
  private changes: Change[] = [];
  private flushing = false;
  private lastFlush = 0;
  private stopListening: Unsubscribe | null = null;
  private closed = false;

  constructor(
    private readonly source: TopicSource<State, Change>,
    private readonly onEmpty: () => void,
    private readonly onError: (error: unknown) => void,
    private readonly minIntervalMs: number,
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
    const wait = Math.max(0, this.lastFlush + this.minIntervalMs - Date.now());
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
        const state = await this.source.read(changes);
        if (changes.length > 0) for (const member of this.members) member.push(state);
        const first = this.source.initial(state);
        for (const stream of joining) {
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
      // A failed read ends every stream rather than leaving subscribers waiting forever;
      // clients see the subscription complete and may subscribe again.
      this.onError(error);
      for (const member of [...this.members, ...this.newcomers, ...joining]) member.end();
    } finally {
      this.flushing = false;
      if (!this.closed && (this.changes.length > 0 || this.newcomers.length > 0)) this.schedule();
    }
  }
}
