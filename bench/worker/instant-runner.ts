/**
 * BENCHMARK ONLY — never registered by the product. A runner that answers every ligand at
 * once with a fixed VINA-shaped result, so bench/orchestration.bench.ts measures the hub
 * (submit, queue, dispatch, claims, settles, change log) and nothing of docking. It registers
 * under the name VINA because the api only accepts models the platform knows.
 */
import type {
  Availability,
  LigandReport,
  ModelRunner,
  RunHooks,
  RunnerFile,
  ShardInput,
} from '../../gpu-worker/src/runners/runner.js';

export interface InstantRunnerOptions {
  /**
   * Also hand back one small results.json per ligand, as a real runner hands back files, so
   * the per-job blob write is in the measurement.
   * @default false
   */
  withFile?: boolean;
}

export class InstantRunner implements ModelRunner {
  readonly name = 'VINA' as const;
  readonly accelerator = 'CPU' as const;
  readonly needs = { proteinSequence: false, proteinStructure: true, pocket: true, ligandStructure: true };

  constructor(private readonly options: InstantRunnerOptions = {}) {}

  async checkAvailable(): Promise<Availability> {
    return { available: true, versions: { instant: 'bench-only' } };
  }

  async *runShard(shard: ShardInput, hooks: RunHooks = {}): AsyncIterable<LigandReport> {
    for (const [i, job] of shard.jobs.entries()) {
      // The runner contract: shouldStop is awaited before each ligand (a store read per job).
      if (hooks.signal?.aborted) return;
      if (hooks.shouldStop && (await hooks.shouldStop(job.id))) return;
      const score = -5 - (i % 7);
      const files: RunnerFile[] = this.options.withFile
        ? [{ name: 'results.json', contentType: 'application/json', body: `${JSON.stringify({ jobId: job.id, score })}\n` }]
        : [];
      yield {
        jobId: job.id,
        outcome: {
          ok: true,
          result: {
            affinity: { value: score, unit: 'KCAL_PER_MOL', kcalPerMol: score, probabilityBinder: null, heads: [] },
            confidence: null,
            poses: [{ rank: 1, score, rmsdLowerBound: 0, rmsdUpperBound: 0 }],
            provenance: { model: 'VINA', tools: { instant: 'bench-only' } },
          },
          files,
          runtimeSeconds: 0,
        },
      };
    }
  }
}
