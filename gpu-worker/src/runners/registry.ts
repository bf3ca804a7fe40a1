import { MODEL_NAMES, type ModelName } from '../../../src/domain/job.js';
import type { ModelRunner } from './runner.js';
import { VinaRunner } from './vina/vina-runner.js';
import { BoltzRunner } from './boltz/boltz-runner.js';

/** One row of `GET /models`. */
export interface ModelDescription {
  name: ModelName;
  accelerator: 'CPU' | 'GPU' | null;
  available: boolean;
  /** Why the model cannot run here; null when it can. */
  reason: string | null;
  versions: Record<string, string>;
}

/** The runners this worker has, keyed by model. */
export class RunnerRegistry {
  readonly #runners = new Map<ModelName, ModelRunner>();

  constructor(runners: Iterable<ModelRunner>) {
    for (const runner of runners) {
      if (this.#runners.has(runner.name)) throw new Error(`two runners registered for ${runner.name}`);
      this.#runners.set(runner.name, runner);
    }
  }

  /** The runner for `name`, or null when this worker has none. */
  get(name: ModelName): ModelRunner | null {
    return this.#runners.get(name) ?? null;
  }

  /** Every model of the platform, in `MODEL_NAMES` order, with whether it can run here. */
  async describe(): Promise<ModelDescription[]> {
    return Promise.all(
      MODEL_NAMES.map(async (name): Promise<ModelDescription> => {
        const runner = this.#runners.get(name);
        if (!runner) {
          return { name, accelerator: null, available: false, reason: `this worker has no ${name} runner`, versions: {} };
        }
        const availability = await runner
          .checkAvailable()
          .catch((error: unknown) => ({ available: false, reason: `availability check failed: ${String(error)}` }) as const);
        return availability.available
          ? { name, accelerator: runner.accelerator, available: true, reason: null, versions: availability.versions }
          : { name, accelerator: runner.accelerator, available: false, reason: availability.reason, versions: {} };
      }),
    );
  }
}

/** The runner settings of the worker's configuration (`OMTX_VINA_*`, `OMTX_OBABEL_BIN`, `OMTX_BOLTZ_*`, `BOLTZ_CACHE`). */
export interface RunnerSettings {
  vinaBin: string;
  obabelBin: string;
  /** 0 = every core. */
  vinaCpu: number;
  vinaTimeLimitSeconds: number;
  boltzBin: string;
  boltzCache: string;
  boltzAccelerator: 'gpu' | 'cpu';
  boltzShardTimeLimitSeconds: number;
}

/**
 * The registry of this worker: both models always; each reports itself unavailable, with
 * the reason, where its tools or weights are missing (BOLTZ2 on the embedded default).
 */
export function createRunnerRegistry(settings: RunnerSettings): RunnerRegistry {
  return new RunnerRegistry([
    new BoltzRunner({
      boltzPath: settings.boltzBin,
      cacheDir: settings.boltzCache,
      accelerator: settings.boltzAccelerator,
      timeLimitMs: settings.boltzShardTimeLimitSeconds * 1000,
    }),
    new VinaRunner({
      vinaPath: settings.vinaBin,
      obabelPath: settings.obabelBin,
      cpu: settings.vinaCpu,
      timeLimitMs: settings.vinaTimeLimitSeconds * 1000,
    }),
  ]);
}
