import DataLoader from 'dataloader';
import type { Batch, Job } from '../src/domain/job.js';
import type { JobStore } from '../src/ports/job-store.js';
import type { App } from '../src/container.js';
import type { Viewer } from '../src/server/request-context.js';

/** Per-request loaders: each request sees its own cache, and a page's lookups batch into one call. */
export interface Loaders {
  job: DataLoader<string, Job | null>;
  batch: DataLoader<string, Batch | null>;
}

export interface Context {
  app: App;
  viewer: Viewer;
  loaders: Loaders;
}

/**
 * Loaders answer null for another owner's record, so every read through them is scoped to
 * the viewer: another user's job is NOT_FOUND, never a leak.
 */
export function createLoaders(jobs: JobStore, viewer: Viewer): Loaders {
  const mine = <T extends { owner: string }>(records: (T | null)[]) =>
    records.map((r) => (r !== null && r.owner === viewer.id ? r : null));
  return {
    job: new DataLoader(async (ids) => mine(await jobs.getJobs(ids)), { maxBatchSize: 500 }),
    batch: new DataLoader(async (ids) => mine(await jobs.getBatches(ids)), { maxBatchSize: 500 }),
  };
}
