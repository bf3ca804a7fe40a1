import type { ChangeFeed, Unsubscribe } from '../../ports/change-feed.js';
import type { SqliteDatabase } from './sqlite/database.js';

export interface SqliteChangeFeedOptions {
  /**
   * How often to look for commits made by other processes on the same file (the worker).
   * Commits of this process are seen at once through `notify()`.
   * @default 50 // milliseconds
   */
  pollIntervalMs?: number;
  /**
   * Changes older than this are deleted from the log.
   * @default 600_000 // 10 minutes
   */
  retentionMs?: number;
}

interface ChangeRow {
  seq: number;
  job_id: string | null;
  batch_id: string | null;
}

/**
 * The embedded ChangeFeed: reads the `job_changes` log that the SqliteJobStore appends to in
 * each write transaction, so a listener hears of a change only after it is committed, from
 * this process or another one. It reads the log only while someone is listening.
 */
export class SqliteChangeFeed implements ChangeFeed {
  private readonly jobListeners = new Map<string, Set<() => void>>();
  private readonly batchListeners = new Map<string, Set<(changedJobIds: string[]) => void>>();
  private lastSeq: number;
  private timer: NodeJS.Timeout | null = null;
  private scheduled = false;
  private readonly pollIntervalMs: number;
  private readonly retentionMs: number;
  private readonly readChanges;
  /** Old changes go whether or not anyone listens (an api whose clients only poll). */
  private readonly pruner: NodeJS.Timeout;

  constructor(
    private readonly db: SqliteDatabase,
    options: SqliteChangeFeedOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 50;
    this.retentionMs = options.retentionMs ?? 600_000;
    this.readChanges = db.prepare<[number], ChangeRow>(
      'SELECT seq, job_id, batch_id FROM job_changes WHERE seq > ? ORDER BY seq LIMIT 10000',
    );
    const row = db.prepare('SELECT max(seq) AS seq FROM job_changes').get() as { seq: number | null };
    this.lastSeq = row.seq ?? 0;
    this.pruner = setInterval(() => this.prune(), Math.max(1_000, this.retentionMs / 10));
    this.pruner.unref();
  }

  /** Called by the store after each commit of this process: read the log on the next tick. */
  notify(): void {
    if (this.scheduled || !this.listening()) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  watchJob(jobId: string, onChange: () => void): Unsubscribe {
    return this.add(this.jobListeners, jobId, onChange);
  }

  watchBatch(batchId: string, onChange: (changedJobIds: string[]) => void): Unsubscribe {
    return this.add(this.batchListeners, batchId, onChange);
  }

  async flush(): Promise<void> {
    if (this.listening()) this.drain();
  }

  async close(): Promise<void> {
    this.jobListeners.clear();
    this.batchListeners.clear();
    this.stopPolling();
    clearInterval(this.pruner);
  }

  private add<L>(map: Map<string, Set<L>>, id: string, listener: L): Unsubscribe {
    if (!this.listening()) this.catchUp();
    let set = map.get(id);
    if (!set) map.set(id, (set = new Set()));
    set.add(listener);
    this.startPolling();
    return () => {
      set.delete(listener);
      if (set.size === 0) map.delete(id);
      if (!this.listening()) this.stopPolling();
    };
  }

  /** Listening starts from now: what was committed before the first listener is not news. */
  private catchUp(): void {
    const row = this.db.prepare('SELECT max(seq) AS seq FROM job_changes').get() as { seq: number | null };
    this.lastSeq = row.seq ?? 0;
  }

  private listening(): boolean {
    return this.jobListeners.size > 0 || this.batchListeners.size > 0;
  }

  private startPolling(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.drain(), this.pollIntervalMs);
    this.timer.unref();
  }

  private stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private drain(): void {
    if (!this.db.open) return;
    for (;;) {
      const rows = this.readChanges.all(this.lastSeq);
      if (rows.length === 0) break;
      this.lastSeq = rows[rows.length - 1]!.seq;
      this.dispatch(rows);
      if (rows.length < 10000) break;
    }
  }

  private dispatch(rows: ChangeRow[]): void {
    const jobs = new Set<string>();
    const batches = new Map<string, Set<string>>();
    for (const row of rows) {
      if (row.job_id !== null) jobs.add(row.job_id);
      if (row.batch_id !== null) {
        let changed = batches.get(row.batch_id);
        if (!changed) batches.set(row.batch_id, (changed = new Set()));
        if (row.job_id !== null) changed.add(row.job_id);
      }
    }
    for (const id of jobs) for (const listener of this.jobListeners.get(id) ?? []) listener();
    for (const [id, changed] of batches) {
      const ids = [...changed];
      for (const listener of this.batchListeners.get(id) ?? []) listener(ids);
    }
  }

  private prune(): void {
    if (this.db.open) this.db.prepare('DELETE FROM job_changes WHERE at < ?').run(Date.now() - this.retentionMs);
  }
}
