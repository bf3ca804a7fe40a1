import type { Job, JobError, ModelName, Parameters, Protein, Result } from '../../../src/domain/job.js';

/**
 * The contract between the worker and a model (VINA, BOLTZ2). A runner turns one shard —
 * several ligands against the same protein with the same parameters — into one outcome per
 * ligand. It knows nothing of stores, queues or HTTP: the worker takes the jobs, calls
 * {@link ModelRunner.runShard}, uploads each outcome's `files` to the BlobStore, fills
 * `Result.artifacts` and records the outcome, ligand by ligand.
 */
export interface ModelRunner {
  readonly name: ModelName;
  /** Where the model computes; the worker's container and instance type must provide it. */
  readonly accelerator: 'CPU' | 'GPU';
  /** Which inputs the model reads (the api validates submissions against the same facts). */
  readonly needs: RunnerNeeds;
  /**
   * Whether the model's tools are installed and runnable here, with their versions.
   * Cheap (a `--version` call or two); never throws.
   */
  checkAvailable(): Promise<Availability>;
  /**
   * Runs the shard's ligands in order and yields each ligand's report as soon as it is done.
   *
   * - `hooks.shouldStop(jobId)` is awaited before each ligand starts; when it answers true
   *   the iteration ends. Jobs that got no report were not started.
   * - `hooks.signal` aborting (worker shutting down, lease lost) kills the running tool; the
   *   ligand in flight ends with a retryable `INTERRUPTED` error and the iteration ends.
   * - A fault that concerns the whole shard (receptor unreadable, tools missing) is reported
   *   as the same error on every ligand, so each job still gets an outcome.
   * - Breaking out of the loop (`return()`) cleans up temporary files.
   *
   * The iterable never rejects for a per-ligand problem; failures are values.
   */
  runShard(shard: ShardInput, hooks?: RunHooks): AsyncIterable<LigandReport>;
}

export interface RunnerNeeds {
  proteinSequence: boolean;
  proteinStructure: boolean;
  pocket: boolean;
  /** A prepared 3D ligand (`Ligand.structure`) is used when given. */
  ligandStructure: boolean;
}

export type Availability = { available: true; versions: Record<string, string> } | { available: false; reason: string };

/** One task's worth of work: ligands against one protein with one set of parameters. */
export interface ShardInput {
  protein: Protein;
  parameters: Parameters;
  /**
   * BOLTZ2: the protein's MSA, computed once per target before the shard was sent (or
   * uploaded), or single-sequence mode. Absent for models that read no MSA.
   */
  msa?: ShardMsa;
  /** Run in this order; whole `Job` records fit. */
  jobs: ShardJob[];
}

/** `EMPTY` is Boltz's `msa: empty`; a `FILE` is written as `fileName` and every input points at it. */
export type ShardMsa = { kind: 'EMPTY' } | { kind: 'FILE'; fileName: `${string}.a3m` | `${string}.csv`; content: string };

/** What a runner reads of a job: its id (echoed in the report) and its ligand. */
export type ShardJob = Pick<Job, 'id' | 'ligand'>;

export interface RunHooks {
  /** Awaited before each ligand with its job id; true stops the shard (e.g. the batch was cancelled). */
  shouldStop?: (nextJobId: string) => boolean | Promise<boolean>;
  /** Aborting kills the running tool process. */
  signal?: AbortSignal;
}

/** A `Result` before the worker has uploaded the files: it fills `artifacts` from them. */
export type RunnerResult = Omit<Result, 'artifacts'>;

/** A file for the BlobStore, named as it will appear under the job's prefix. */
export interface RunnerFile {
  name: string;
  contentType: string;
  body: Uint8Array | string;
}

/** One ligand done: which job, and how it went. */
export interface LigandReport {
  jobId: string;
  outcome: LigandOutcome;
}

export type LigandOutcome =
  | { ok: true; result: RunnerResult; files: RunnerFile[]; runtimeSeconds?: number }
  | {
      ok: false;
      /** `retryable` true for transient faults (killed by a signal, disk full), false for bad inputs. */
      error: JobError;
      /** What there is to look at (the runner gives `log.txt`). */
      files?: RunnerFile[];
      runtimeSeconds?: number;
    };
