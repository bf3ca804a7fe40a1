/**
 * An async iterator fed by pushes, for one subscriber. While the subscriber has not taken
 * the last value yet, a new push merges into it instead of queueing behind it, so a slow
 * client gets fewer, fresher events and memory stays flat. `end()` finishes the stream after
 * what is pending has been taken: the terminal state is always delivered.
 */
export class CoalescingStream<T> implements AsyncIterableIterator<T> {
  private pending: { value: T } | null = null;
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private ended = false;

  constructor(
    private readonly merge: (older: T, newer: T) => T,
    private readonly onClose: () => void,
  ) {}

  /** Ended: by the topic, or by the client going away. */
  get isEnded(): boolean {
    return this.ended;
  }

  push(value: T): void {
    if (this.ended) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value, done: false });
      return;
    }
    this.pending = this.pending ? { value: this.merge(this.pending.value, value) } : { value };
  }

  /** No more pushes; the stream completes once the pending value is taken. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.waiting && !this.pending) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: undefined, done: true });
    }
    this.onClose();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.pending) {
      const { value } = this.pending;
      this.pending = null;
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** The client went away (or graphql-ws completed the operation). */
  return(): Promise<IteratorResult<T>> {
    this.pending = null;
    this.end();
    if (this.waiting) {
      this.waiting({ value: undefined, done: true });
      this.waiting = null;
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<T>> {
    this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
