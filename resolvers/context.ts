import DataLoader from 'dataloader';
import type { Batch, Job } from '../src/domain/job.js';
import type { JobStore } from '../src/ports/job-store.js';
import type { App } from '../src/container.js';
import type { Viewer } from '../src/server/request-context.js';
import { canRead, type Sharing } from '../src/domain/sharing.js';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../src/domain/errors.js';

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
 * Loaders answer null for a record the viewer may not read (another owner's, not shared with
 * the viewer's organization), so every read through them is scoped to the viewer: another
 * tenant's job is NOT_FOUND, never a leak.
 */
export function createLoaders(jobs: JobStore, viewer: Viewer): Loaders {
  const readable = <T extends Job | Batch>(records: (T | null)[]) =>
    records.map((r) => (r !== null && canRead(viewer, r) ? r : null));
  return {
    job: new DataLoader(async (ids) => readable(await jobs.getJobs(ids)), { maxBatchSize: 500 }),
    batch: new DataLoader(async (ids) => readable(await jobs.getBatches(ids)), { maxBatchSize: 500 }),
  };
}

/**
 * Before a change (cancel, retry): a record the viewer cannot read is NOT_FOUND (the store
 * says so too); one shared with the viewer's organization but owned by someone else is
 * FORBIDDEN, since its existence is no secret to them.
 */
export async function assertOwnerOf(ctx: Context, entity: 'Job' | 'Batch', id: string): Promise<void> {
  const record = await (entity === 'Job' ? ctx.loaders.job : ctx.loaders.batch).load(id);
  if (record === null) throw new NotFoundError(entity, id);
  if (record.owner !== ctx.viewer.id) {
    throw new ForbiddenError(`only the owner may change this ${entity.toLowerCase()}; members of its organization may read it`);
  }
}

/** A submission's organization (the viewer's) and whether it is shared with it. */
export function sharingOf(viewer: Viewer, share: boolean | null | undefined, path: string[]): Sharing {
  if (share && viewer.organizationId === null) {
    throw new InvalidInputError([{ path, message: 'you belong to no organization, so there is no one to share with' }]);
  }
  return { organizationId: viewer.organizationId, sharedWithOrganization: share === true };
}
