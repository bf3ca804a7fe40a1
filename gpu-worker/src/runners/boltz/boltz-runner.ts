import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobError } from '../../../../src/domain/job.js';
import { toJobError } from '../failure.js';
import type { Availability, LigandReport, ModelRunner, RunHooks, ShardInput, ShardJob, ShardMsa } from '../runner.js';
import { checkBoltz } from './boltz-availability.js';
import { predictArgs, type PredictSettings } from './boltz-command.js';
import { writeShardInputs } from './boltz-input.js';
import { logFile, predictShard } from './boltz-shard.js';
import { BOLTZ_DEFAULTS } from '../../../../src/domain/cost.js';

/** Parameters a job leaves unset. */
export interface BoltzDefaults {
  /** Boltz itself seeds nothing by default; a fixed seed makes a result reproducible. @default 42 */
  seed?: number;
  /** @default 1 // Boltz's own default */
  diffusionSamples?: number;
  /** @default 200 // Boltz's own default */
  samplingSteps?: number;
  /** @default 3 // Boltz's own default */
  recyclingSteps?: number;
}

export interface BoltzRunnerOptions {
  /** @default 'boltz' // the console script of `pip install boltz`, found on PATH */
  boltzPath?: string;
  /** Boltz's weights and CCD molecules (`--cache`). @default $BOLTZ_CACHE, else '~/.boltz' // Boltz's own default */
  cacheDir?: string;
  /** @default 'gpu' */
  accelerator?: 'gpu' | 'cpu';
  /** Per shard: `boltz predict` is killed past it. @default 1_500_000 // 25 minutes, inside Cloud Tasks' 30-minute deadline */
  timeLimitMs?: number;
  defaults?: BoltzDefaults;
  /** Where per-shard work directories are made (and removed). @default os.tmpdir() */
  tmpDir?: string;
  /** How often the predictions folder is read while Boltz runs. @default 1_000 // 1 second */
  pollIntervalMs?: number;
  /** How often, while Boltz runs, the ligands not yet reported are checked for cancellation. @default 5_000 // 5 seconds */
  stopCheckMs?: number;
}

/**
 * BOLTZ2: structure and binding affinity with the `boltz predict` CLI, one process per shard
 * over a folder of one YAML input per ligand, so the weights load once. Each ligand is
 * reported as soon as Boltz has written its prediction.
 */
export class BoltzRunner implements ModelRunner {
  readonly name = 'BOLTZ2' as const;
  readonly accelerator: 'CPU' | 'GPU';
  readonly needs = { proteinSequence: true, proteinStructure: false, pocket: false, ligandStructure: false };

  readonly #options: Required<Omit<BoltzRunnerOptions, 'defaults'>> & { defaults: Required<BoltzDefaults> };
  #versions: Record<string, string> | null = null;

  constructor(options: BoltzRunnerOptions = {}) {
    this.#options = {
      boltzPath: options.boltzPath ?? 'boltz',
      cacheDir: options.cacheDir ?? process.env.BOLTZ_CACHE ?? join(homedir(), '.boltz'),
      accelerator: options.accelerator ?? 'gpu',
      timeLimitMs: options.timeLimitMs ?? 1_500_000,
      defaults: {
        seed: options.defaults?.seed ?? 42,
        diffusionSamples: options.defaults?.diffusionSamples ?? BOLTZ_DEFAULTS.diffusionSamples,
        samplingSteps: options.defaults?.samplingSteps ?? BOLTZ_DEFAULTS.samplingSteps,
        recyclingSteps: options.defaults?.recyclingSteps ?? BOLTZ_DEFAULTS.recyclingSteps,
      },
      tmpDir: options.tmpDir ?? tmpdir(),
      pollIntervalMs: options.pollIntervalMs ?? 1_000,
      stopCheckMs: options.stopCheckMs ?? 5_000,
    };
    this.accelerator = this.#options.accelerator === 'gpu' ? 'GPU' : 'CPU';
  }

  async checkAvailable(): Promise<Availability> {
    if (this.#versions) return { available: true, versions: this.#versions };
    const availability = await checkBoltz(this.#options.boltzPath, this.#options.cacheDir);
    if (availability.available) this.#versions = availability.versions;
    return availability;
  }

  /**
   * Every job is asked `hooks.shouldStop` before the process starts; the stopped ones are left
   * out and get no report. While Boltz runs, the ligands not yet reported are asked again every
   * `stopCheckMs`: once all of them are stopped (the batch was cancelled) the process is killed,
   * so a cancelled screen does not hold the GPU. An abort of `hooks.signal` kills the process:
   * the ligands not done end with a retryable `INTERRUPTED`.
   */
  async *runShard(shard: ShardInput, hooks: RunHooks = {}): AsyncIterable<LigandReport> {
    const jobs: ShardJob[] = [];
    for (const job of shard.jobs) {
      if (hooks.signal?.aborted) return;
      if (!(hooks.shouldStop && (await hooks.shouldStop(job.id)))) jobs.push(job);
    }
    if (jobs.length === 0) return;

    const shardError = checkShard(shard) ?? (await this.#unavailable());
    if (shardError) {
      for (const job of jobs) yield failed(job, shardError);
      return;
    }
    const workDir = await mkdtemp(join(this.#options.tmpDir, 'boltz-shard-'));
    try {
      const settings = this.#settings(shard);
      const prepared = await writeShardInputs(workDir, shard.protein.sequence!, shard.msa!, jobs).catch(toJobError);
      if ('code' in prepared) {
        for (const job of jobs) yield failed(job, prepared);
        return;
      }
      const outDir = join(workDir, 'out');
      yield* predictShard({
        boltzPath: this.#options.boltzPath,
        args: predictArgs(prepared.inputDir, outDir, settings),
        cwd: workDir,
        outDir,
        inputs: prepared.inputs,
        timeLimitMs: this.#options.timeLimitMs,
        pollIntervalMs: this.#options.pollIntervalMs,
        signal: hooks.signal,
        ...(hooks.shouldStop && { allStopped: everyStopped(hooks.shouldStop), stopCheckMs: this.#options.stopCheckMs }),
        provenance: provenanceOf(settings, shard.msa!, this.#versions ?? {}),
      });
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  async #unavailable(): Promise<JobError | null> {
    const availability = await this.checkAvailable();
    return availability.available ? null : { code: 'MODEL_UNAVAILABLE', message: availability.reason, retryable: true };
  }

  #settings(shard: ShardInput): PredictSettings {
    const { parameters } = shard;
    const { defaults } = this.#options;
    return {
      seed: parameters.seed ?? defaults.seed,
      diffusionSamples: parameters.diffusionSamples ?? defaults.diffusionSamples,
      samplingSteps: parameters.samplingSteps ?? defaults.samplingSteps,
      recyclingSteps: parameters.recyclingSteps ?? defaults.recyclingSteps,
      accelerator: this.#options.accelerator,
      cacheDir: this.#options.cacheDir,
    };
  }
}

/** Faults of the shard's input, the same for every ligand. */
function checkShard(shard: ShardInput): JobError | null {
  if (!shard.protein.sequence) {
    return {
      code: 'PROTEIN_SEQUENCE_MISSING',
      message: 'BOLTZ2 predicts from the protein sequence, and the protein has none',
      retryable: false,
    };
  }
  if (!shard.msa) {
    // The worker plans every BOLTZ2 target's MSA before running it; without one Boltz would
    // refuse every input ("Missing MSA's in input and --use_msa_server flag not set").
    return {
      code: 'MSA_MISSING',
      message: 'the worker sent this BOLTZ2 shard without its MSA (ShardInput.msa): a bug of the worker, not of the job',
      retryable: false,
    };
  }
  return null;
}

function provenanceOf(settings: PredictSettings, msa: ShardMsa, versions: Record<string, string>): Record<string, unknown> {
  return {
    model: 'BOLTZ2',
    tools: { ...versions },
    seed: settings.seed,
    diffusionSamples: settings.diffusionSamples,
    samplingSteps: settings.samplingSteps,
    recyclingSteps: settings.recyclingSteps,
    msa: msa.kind === 'FILE' ? { mode: 'FILE', fileName: msa.fileName } : { mode: 'EMPTY' },
    accelerator: settings.accelerator,
    outputFormat: 'mmcif',
  };
}

function everyStopped(shouldStop: NonNullable<RunHooks['shouldStop']>): (jobIds: string[]) => Promise<boolean> {
  return async (jobIds) => {
    for (const id of jobIds) if (!(await shouldStop(id))) return false;
    return true;
  };
}

function failed(job: ShardJob, error: JobError): LigandReport {
  return {
    jobId: job.id,
    outcome: { ok: false, error, files: [logFile(`# ${error.code}: ${error.message}\n`)], runtimeSeconds: 0 },
  };
}
