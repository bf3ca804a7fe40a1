import type { Chemistry } from '../domain/chemistry.js';
import type { JobStore } from '../ports/job-store.js';
import type { TaskQueue } from '../ports/task-queue.js';

/** What the use cases need; the composition root (`src/container.ts`) builds it. */
export interface ServiceDeps {
  jobs: JobStore;
  queue: TaskQueue;
  chemistry: Chemistry;
  /** A Chemistry primed for many SMILES at once (parsed on every core for a large batch). */
  chemistryForBatch: (smiles: readonly string[]) => Promise<Chemistry>;
  clock: () => Date;
  newId: () => string;
  /** Ligands per task: the worker loads a model once per shard. */
  shardSize: number;
}
