import type { Batch, Job } from '../src/domain/job.js';
import { isTerminal, isBatchTerminal } from '../src/domain/status.js';
import { NotFoundError } from '../src/domain/errors.js';
import type { ChangeFeed } from '../src/ports/change-feed.js';
import type { JobStore } from '../src/ports/job-store.js';
import { Topic } from './topic.js';

export interface BatchEvent {
  batch: Batch;
  /** Children changed since the subscriber's previous event (latest version of each). */
  changedJobs: Job[];
}

export interface WatchHubOptions {
  /** @default 50 // milliseconds between two reads of one watched object */
  minIntervalMs?: number;
  /** Changed children carried by one event; more are left out (the counts stay exact). @default 500 */
  maxChangedJobs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Subscriptions for one process: per watched job or batch one Topic, so a thousand
 * subscribers of one batch cost one change-feed listener and one read per flush.
 */
export class WatchHub {
  private readonly jobTopics = new Map<string, Topic<Job, null>>();
  private readonly batchTopics = new Map<string, Topic<BatchEvent, string[]>>();
  private readonly minIntervalMs: number;
  private readonly maxChangedJobs: number;
  private readonly onError: (error: unknown) => void;

  constructor(
    private readonly jobs: JobStore,
    private readonly feed: ChangeFeed,
    options: WatchHubOptions = {},
  ) {
    this.minIntervalMs = options.minIntervalMs ?? 50;
    this.maxChangedJobs = options.maxChangedJobs ?? 500;
    this.onError = options.onError ?? (() => {});
  }

  /** The job's states, current first, until it ends; NotFoundError for another owner's job. */
  async watchJob(owner: string, jobId: string): Promise<AsyncIterableIterator<Job>> {
    const [job] = await this.jobs.getJobs([jobId]);
    if (!job || job.owner !== owner) throw new NotFoundError('Job', jobId);
    let topic = this.jobTopics.get(jobId);
    if (!topic) {
      topic = new Topic<Job, null>(
        {
          listen: (onChange) => this.feed.watchJob(jobId, () => onChange(null)),
          read: async () => (await this.jobs.getJobs([jobId]))[0]!,
          initial: (state) => state,
          isTerminal: (state) => isTerminal(state.status),
          catchUp: () => this.feed.flush(),
          merge: (_older, newer) => newer,
        },
        () => this.jobTopics.delete(jobId),
        this.onError,
        this.minIntervalMs,
      );
      this.jobTopics.set(jobId, topic);
    }
    return topic.subscribe();
  }

  /** The batch's progress, current first, until it ends; NotFoundError for another owner's batch. */
  async watchBatch(owner: string, batchId: string): Promise<AsyncIterableIterator<BatchEvent>> {
    const [batch] = await this.jobs.getBatches([batchId]);
    if (!batch || batch.owner !== owner) throw new NotFoundError('Batch', batchId);
    let topic = this.batchTopics.get(batchId);
    if (!topic) {
      topic = new Topic<BatchEvent, string[]>(
        {
          listen: (onChange) => this.feed.watchBatch(batchId, onChange),
          read: (changes) => this.readBatch(batchId, changes),
          initial: (state) => ({ batch: state.batch, changedJobs: [] }),
          isTerminal: (state) => isBatchTerminal(state.batch),
          catchUp: () => this.feed.flush(),
          merge: (older, newer) => ({ batch: newer.batch, changedJobs: this.mergeJobs(older.changedJobs, newer.changedJobs) }),
        },
        () => this.batchTopics.delete(batchId),
        this.onError,
        this.minIntervalMs,
      );
      this.batchTopics.set(batchId, topic);
    }
    return topic.subscribe();
  }

  /** Watched objects and their subscribers, for /metrics. */
  stats(): { topics: number; subscribers: number } {
    let subscribers = 0;
    for (const t of [...this.jobTopics.values(), ...this.batchTopics.values()]) subscribers += t.size;
    return { topics: this.jobTopics.size + this.batchTopics.size, subscribers };
  }

  private async readBatch(batchId: string, changes: string[][]): Promise<BatchEvent> {
    const ids = [...new Set(changes.flat())].slice(0, this.maxChangedJobs);
    const [[batch], jobs] = await Promise.all([this.jobs.getBatches([batchId]), this.jobs.getJobs(ids)]);
    if (!batch) throw new NotFoundError('Batch', batchId);
    return { batch, changedJobs: jobs.filter((j): j is Job => j !== null) };
  }

  private mergeJobs(older: Job[], newer: Job[]): Job[] {
    const byId = new Map(older.map((j) => [j.id, j]));
    for (const j of newer) byId.set(j.id, j);
    return [...byId.values()].slice(-this.maxChangedJobs);
  }
}
