import { Timestamp, type DocumentSnapshot, type Firestore, type Query, type QuerySnapshot } from '@google-cloud/firestore';
import type { ChangeFeed, Unsubscribe } from '../../ports/change-feed.js';
import { JOBS } from './firestore/job-documents.js';

export interface FirestoreChangeFeedOptions {
  /**
   * How far the api's clock may be ahead of Firestore's. A listener's first snapshot counts a
   * document changed after `subscribe time − clockSkewMs` as news (the change may have been
   * committed between the subscription and the listener's start). Too large only costs a
   * spurious notification (a re-read); 0 when both share one clock (the emulator on this host).
   * @default 1_000 // milliseconds
   */
  clockSkewMs?: number;
  /** First wait before re-establishing a failed listener; doubles up to `retryMaxMs`. @default 250 // milliseconds */
  retryBaseMs?: number;
  /** @default 5_000 // milliseconds */
  retryMaxMs?: number;
  /** A child listener is restarted from its last read time once it holds this many children. @default 500 // documents */
  maxChildrenPerListener?: number;
  /** How long `flush` waits for a listener to deliver what a read already sees. @default 10_000 // milliseconds */
  flushTimeoutMs?: number;
  /**
   * Fault injection and counting for tests: called with each listener started (its key, e.g.
   * `batch:{id}:children`) and a function that fails it as the SDK's `onError` would (the feed
   * then re-establishes it). What it returns, if a function, is called when that listener stops.
   */
  onListen?: (key: string, fail: (error: Error) => void) => void | (() => void);
}

/** One `onSnapshot` of a watched object: a document or a batch's changed children. */
interface Listener {
  key: string;
  /** Starts (or restarts) the SDK listener; returns its unsubscribe. */
  start(): () => void;
  stop: (() => void) | null;
  /** What a read shows that this listener has not delivered yet (null: nothing). */
  pending(): Promise<(() => boolean) | null>;
  failures: number;
  timer: NodeJS.Timeout | null;
  /** What `onListen` asked to be told when this start of the listener stops. */
  stopped?: (() => void) | undefined;
}

interface Upstream {
  jobWatchers: Set<() => void>;
  batchWatchers: Set<(changedJobIds: string[]) => void>;
  listeners: Listener[];
}

/**
 * The ChangeFeed on Firestore `onSnapshot`: per watched job or batch ONE upstream per process,
 * shared by all its watchers and closed when the last one leaves. A job is one document
 * listener; a batch is a listener on its document plus a query listener on its children
 * `batch_parent_id == id AND changed_at >= since` (`changed_at` is each write's server time),
 * so it downloads only the children that change, not a 10,000-child batch, and says which.
 *
 * A failed listener is re-established with backoff from where it stopped (the children's
 * query from its last snapshot's read time, which is server time like `changed_at`), and its
 * watchers are told once it is back, so they re-read: nothing is lost in the gap.
 */
export class FirestoreChangeFeed implements ChangeFeed {
  private readonly upstreams = new Map<string, Upstream>();
  private readonly waiters = new Set<() => void>();
  private readonly clockSkewMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly maxChildren: number;
  private readonly flushTimeoutMs: number;
  private closed = false;

  constructor(
    private readonly db: Firestore,
    private readonly options: FirestoreChangeFeedOptions = {},
  ) {
    this.clockSkewMs = options.clockSkewMs ?? 1_000;
    this.retryBaseMs = options.retryBaseMs ?? 250;
    this.retryMaxMs = options.retryMaxMs ?? 5_000;
    this.maxChildren = options.maxChildrenPerListener ?? 500;
    this.flushTimeoutMs = options.flushTimeoutMs ?? 10_000;
  }

  watchJob(jobId: string, onChange: () => void): Unsubscribe {
    const key = `job:${jobId}`;
    const upstream = this.upstream(key, (u) => [this.documentListener(key, jobId, () => u.jobWatchers.forEach((w) => w()))]);
    upstream.jobWatchers.add(onChange);
    return () => {
      upstream.jobWatchers.delete(onChange);
      this.release(key, upstream);
    };
  }

  watchBatch(batchId: string, onChange: (changedJobIds: string[]) => void): Unsubscribe {
    const key = `batch:${batchId}`;
    const upstream = this.upstream(key, (u) => {
      const tell = (ids: string[]) => u.batchWatchers.forEach((w) => w(ids));
      return [
        this.documentListener(`${key}:parent`, batchId, () => tell([])),
        this.childrenListener(`${key}:children`, batchId, tell),
      ];
    });
    upstream.batchWatchers.add(onChange);
    return () => {
      upstream.batchWatchers.delete(onChange);
      this.release(key, upstream);
    };
  }

  /**
   * For each live listener, reads what it watches now: when the read shows a change the
   * listener has not delivered, waits until it has. So every change committed before the
   * call has reached the watchers when this resolves.
   */
  async flush(): Promise<void> {
    const listeners = [...this.upstreams.values()].flatMap((u) => u.listeners);
    const conditions = (await Promise.all(listeners.map((l) => l.pending()))).filter((c): c is () => boolean => c !== null);
    await Promise.all(conditions.map((ready) => this.until(ready)));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const upstream of this.upstreams.values()) for (const l of upstream.listeners) this.stopListener(l);
    this.upstreams.clear();
  }

  private upstream(key: string, make: (u: Upstream) => Listener[]): Upstream {
    let upstream = this.upstreams.get(key);
    if (!upstream) {
      const created: Upstream = { jobWatchers: new Set(), batchWatchers: new Set(), listeners: [] };
      created.listeners = make(created);
      this.upstreams.set(key, created);
      for (const l of created.listeners) this.startListener(l);
      upstream = created;
    }
    return upstream;
  }

  private release(key: string, upstream: Upstream): void {
    if (upstream.jobWatchers.size + upstream.batchWatchers.size > 0 || this.upstreams.get(key) !== upstream) return;
    this.upstreams.delete(key);
    for (const l of upstream.listeners) this.stopListener(l);
  }

  private startListener(l: Listener): void {
    if (this.closed) return;
    l.stop = l.start();
    const stopped = this.options.onListen?.(l.key, (error) => this.failed(l, error));
    l.stopped = typeof stopped === 'function' ? stopped : undefined;
  }

  private stopListener(l: Listener): void {
    if (l.stop) l.stopped?.();
    l.stopped = undefined;
    l.stop?.();
    l.stop = null;
    if (l.timer) clearTimeout(l.timer);
    l.timer = null;
  }

  /** The SDK gave up on a listener (or a test said so): start it again after a backoff. */
  private failed(l: Listener, _error: Error): void {
    if (l.stop === null) return;
    this.stopListener(l);
    const wait = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** l.failures);
    l.failures += 1;
    l.timer = setTimeout(() => {
      l.timer = null;
      this.startListener(l);
    }, wait);
    l.timer.unref();
  }

  /** A listener saw a snapshot: its watchers were told; waiting flushes may be done. */
  private delivered(l: Listener): void {
    l.failures = 0;
    for (const check of [...this.waiters]) check();
  }

  private until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!ready()) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`the change feed did not deliver a change it was flushing within ${this.flushTimeoutMs} ms`));
      }, this.flushTimeoutMs);
      this.waiters.add(check);
    });
  }

  /** A document's listener: tells on each change, and on its first snapshot if it changed since the watch began. */
  private documentListener(key: string, id: string, tell: () => void): Listener {
    const ref = this.db.collection(JOBS).doc(id);
    let threshold = Date.now() - this.clockSkewMs;
    let seen: Timestamp | null = null;
    let restarted = false;
    const updateOf = (s: DocumentSnapshot) => s.updateTime ?? Timestamp.fromMillis(0);
    const l: Listener = {
      key,
      stop: null,
      failures: 0,
      timer: null,
      start: () => {
        let first = true;
        const stop = ref.onSnapshot(
          (s) => {
            const at = updateOf(s);
            const news = !first || restarted || at.toMillis() > threshold || (seen !== null && !at.isEqual(seen));
            first = false;
            restarted = false;
            seen = at;
            if (news) tell();
            this.delivered(l);
          },
          (error) => this.failed(l, error),
        );
        return () => {
          stop();
          // A restart tells the watchers once it is back, whatever it finds.
          restarted = true;
          threshold = seen?.toMillis() ?? threshold;
        };
      },
      pending: async () => {
        const now = updateOf(await ref.get());
        const delivered = () => seen !== null && seen.valueOf() >= now.valueOf();
        return delivered() ? null : delivered;
      },
    };
    return l;
  }

  /**
   * A batch's children listener: `changed_at >= since`, restarted from its last read time when
   * it holds too many documents or after an error, so it never re-downloads the whole batch.
   */
  private childrenListener(key: string, batchId: string, tell: (ids: string[]) => void): Listener {
    let since = Timestamp.fromMillis(Date.now() - this.clockSkewMs);
    let readTime: Timestamp | null = null;
    let restarted = false;
    const query = (from: Timestamp): Query =>
      this.db.collection(JOBS).where('batch_parent_id', '==', batchId).where('changed_at', '>=', from);
    const l: Listener = {
      key,
      stop: null,
      failures: 0,
      timer: null,
      start: () => {
        let first = true;
        const stop = query(since).onSnapshot(
          (snapshot: QuerySnapshot) => {
            // The first snapshot holds every child changed since `since`: all news.
            const ids = first
              ? snapshot.docs.map((d) => d.id)
              : snapshot
                  .docChanges()
                  .filter((c) => c.type !== 'removed')
                  .map((c) => c.doc.id);
            const force = first && restarted;
            first = false;
            restarted = false;
            readTime = snapshot.readTime;
            if (ids.length > 0 || force) tell(ids);
            this.delivered(l);
            if (snapshot.size > this.maxChildren) {
              // Nothing is missed: the new listener starts where this one's snapshot ends.
              l.stop?.();
              restarted = false;
              l.stop = l.start();
            }
          },
          (error) => this.failed(l, error),
        );
        return () => {
          stop();
          restarted = true;
          if (readTime !== null) since = readTime;
        };
      },
      pending: async () => {
        const from = readTime ?? since;
        const newer = await query(from).get();
        const latest = newer.docs.reduce<Timestamp | null>((max, d) => {
          const at = d.get('changed_at') as Timestamp | null;
          return at !== null && (max === null || at.valueOf() > max.valueOf()) ? at : max;
        }, null);
        if (latest === null) return null;
        const delivered = () => readTime !== null && readTime.valueOf() >= latest.valueOf();
        return delivered() ? null : delivered;
      },
    };
    return l;
  }
}
