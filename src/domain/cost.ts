import type { Parameters, Usage } from './job.js';

/**
 * What compute costs: the shape of a worker instance, its prices, the usage of a job in whole
 * units, and the time models of a screen that `estimateBatchCost` and the dispatcher's shard
 * size rest on. Every figure says where it comes from; `bench/RESULTS.md` ("GPU time and cost
 * of a screen") tabulates them.
 */

/** What one worker instance holds. Cloud Run's instance-based billing bills all of it for every second the instance lives. */
export interface InstanceShape {
  gpus: number;
  vcpus: number;
  memoryGib: number;
}

/** USD per second for one GPU, one vCPU and one GiB of memory. */
export interface Prices {
  gpuPerSecond: number;
  vcpuPerSecond: number;
  gibPerSecond: number;
}

/**
 * Cloud Run list prices in us-central1 (Tier 1), instance-based billing ("CPU always
 * allocated"), without free tier or committed-use discounts:
 * - NVIDIA L4: $0.0001867 per GPU-second, without zonal redundancy (issue 4);
 * - $0.000018 per vCPU-second and $0.000002 per GiB-second (https://cloud.google.com/run/pricing,
 *   "Services with CPU always allocated"; request-based billing is $0.000024 and $0.0000025).
 */
export const CLOUD_RUN_PRICES: Prices = { gpuPerSecond: 0.0001867, vcpuPerSecond: 0.000018, gibPerSecond: 0.000002 };

/**
 * Cloud Run's smallest instance with an L4: one GPU needs at least 4 vCPU and 16 GiB
 * (https://docs.cloud.google.com/run/docs/configuring/workerpools/gpu). $0.0002907 a second.
 */
export const L4_INSTANCE: InstanceShape = { gpus: 1, vcpus: 4, memoryGib: 16 };

/** USD a second for the whole instance. */
export function pricePerSecond(shape: InstanceShape, prices: Prices): number {
  return shape.gpus * prices.gpuPerSecond + shape.vcpus * prices.vcpuPerSecond + shape.memoryGib * prices.gibPerSecond;
}

/** USD for `seconds` of the whole instance. */
export function costOfSeconds(seconds: number, shape: InstanceShape, prices: Prices): number {
  return seconds * pricePerSecond(shape, prices);
}

/**
 * The usage of `seconds` of the instance, rounded to whole milliseconds and nano-dollars.
 * GPU time counts only while a GPU model ran (`usesGpu`); the cost is the whole instance's.
 */
export function usageOf(seconds: number, usesGpu: boolean, shape: InstanceShape, prices: Prices): Usage {
  const runtimeMs = Math.max(0, Math.round(seconds * 1000));
  return {
    runtimeMs,
    gpuMs: usesGpu ? runtimeMs * shape.gpus : 0,
    costNanoUsd: Math.round(costOfSeconds(runtimeMs / 1000, shape, prices) * 1e9),
  };
}

/** `sum` plus `delta`; a job with no usage yet starts from zero. */
export function addUsage(sum: Usage | null, delta: Usage): Usage {
  return {
    runtimeMs: (sum?.runtimeMs ?? 0) + delta.runtimeMs,
    gpuMs: (sum?.gpuMs ?? 0) + delta.gpuMs,
    costNanoUsd: (sum?.costNanoUsd ?? 0) + delta.costNanoUsd,
  };
}

/** Throws unless every field is a whole, non-negative, safe integer: a fraction would make the sums inexact. */
export function assertUsage(usage: Usage): void {
  for (const [field, value] of Object.entries(usage)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`usage.${field} must be a whole number ≥ 0 (milliseconds or nano-dollars), got ${String(value)}`);
    }
  }
}

/** Boltz's defaults (`boltz predict --help`): the per-ligand figure below is taken at them. */
export const BOLTZ_DEFAULTS = { diffusionSamples: 1, samplingSteps: 200, recyclingSteps: 3 } as const;

/** How long Boltz-2 takes on one GPU type; see `BOLTZ_L4_TIMING` for the figures and their sources. */
export interface BoltzTiming {
  /** Once per `boltz predict`, i.e. per shard: the structure and the affinity checkpoints, CCD, CUDA context. */
  modelLoadSeconds: number;
  /** One ligand with affinity, at `BOLTZ_DEFAULTS`, against a protein of `referenceResidues`. */
  secondsPerLigand: number;
  referenceResidues: number;
  /** Share of `secondsPerLigand` in the structure pass; the rest is the affinity pass, whose settings are fixed. */
  structureShare: number;
  /** Share of the structure pass in the trunk (recycles); the rest is diffusion (samples × steps). */
  trunkShare: number;
}

/** Boltz-2 with affinity on an A100: ≈ 20 s a ligand (Boltz-2 paper, Passaro et al. 2025; BioLM's Boltz-2 page). */
export const BOLTZ_A100_SECONDS_PER_LIGAND = 20;

/**
 * An L4 is assumed 2.5× slower than an A100: the ratio of their dense BF16 tensor throughput
 * (312 vs 121 TFLOPS, NVIDIA's datasheets). Unmeasured; a measured L4 figure replaces it.
 */
export const L4_SLOWDOWN_VS_A100 = 2.5;

/**
 * Boltz-2 on an L4. Load: 25–40 s (issue 4), the upper end, since a shard that outlives its
 * time limit is killed and retried whole. The shares are assumptions (even splits): they only
 * matter for non-default parameters. The reference size is a kinase domain (~300 residues),
 * like the paper's FEP+ targets and our CDK2 fixture.
 */
export const BOLTZ_L4_TIMING: BoltzTiming = {
  modelLoadSeconds: 40,
  secondsPerLigand: BOLTZ_A100_SECONDS_PER_LIGAND * L4_SLOWDOWN_VS_A100,
  referenceResidues: 300,
  structureShare: 0.5,
  trunkShare: 0.5,
};

export type BoltzParameters = Pick<Parameters, 'diffusionSamples' | 'samplingSteps' | 'recyclingSteps'>;

/**
 * GPU seconds of one BOLTZ2 ligand. Boltz runs the trunk `recyclingSteps + 1` times and the
 * diffusion `samplingSteps` times per sample, so each part scales linearly with its settings
 * relative to `BOLTZ_DEFAULTS` (linear in samples is an upper bound: Boltz batches up to 5).
 * The structure pass works on every token pair, so it scales with the square of the protein's
 * length; the affinity pass crops the protein to 200 tokens around the ligand and its
 * settings are fixed (`boltz predict`: 5 recycles, 5 samples × 200 steps), so it does not.
 */
export function boltzSecondsPerLigand(
  parameters: BoltzParameters,
  residues: number = BOLTZ_L4_TIMING.referenceResidues,
  timing: BoltzTiming = BOLTZ_L4_TIMING,
): number {
  const recycles = parameters.recyclingSteps ?? BOLTZ_DEFAULTS.recyclingSteps;
  const samples = parameters.diffusionSamples ?? BOLTZ_DEFAULTS.diffusionSamples;
  const steps = parameters.samplingSteps ?? BOLTZ_DEFAULTS.samplingSteps;
  const trunk = (recycles + 1) / (BOLTZ_DEFAULTS.recyclingSteps + 1);
  const diffusion = (samples * steps) / (BOLTZ_DEFAULTS.diffusionSamples * BOLTZ_DEFAULTS.samplingSteps);
  const size = (residues / timing.referenceResidues) ** 2;
  const structure = timing.structureShare * (timing.trunkShare * trunk + (1 - timing.trunkShare) * diffusion) * size;
  return timing.secondsPerLigand * (structure + (1 - timing.structureShare));
}

/** Ligands in one BOLTZ2 shard at most: past this the load is under 1 % of a shard on an L4. */
export const MAX_BOLTZ_SHARD = 32;

/**
 * Fraction of the shard time limit a shard is planned to fill. A shard past the limit is
 * killed and every unfinished ligand retried (Boltz predicts every structure before any
 * affinity), so the plan leaves 20 % for slower ligands and for the model's own error.
 */
export const SHARD_TIME_SAFETY = 0.8;

/**
 * Ligands per BOLTZ2 task: the largest shard, at most `MAX_BOLTZ_SHARD`, whose modelled time
 * (load once + each ligand) stays within `SHARD_TIME_SAFETY` of `timeLimitSeconds` (the
 * worker's `OMTX_BOLTZ_SHARD_TIME_LIMIT_SECONDS`); at least 1, even when one ligand alone
 * would not fit. The dispatcher sizes a screen's shards with it, so the model loads as
 * few times as the time limit allows.
 */
export function boltzShardSize(
  parameters: BoltzParameters,
  timeLimitSeconds: number,
  { residues, timing = BOLTZ_L4_TIMING }: { residues?: number; timing?: BoltzTiming } = {},
): number {
  const perLigand = boltzSecondsPerLigand(parameters, residues ?? timing.referenceResidues, timing);
  const fits = Math.floor((timeLimitSeconds * SHARD_TIME_SAFETY - timing.modelLoadSeconds) / perLigand);
  return Math.min(MAX_BOLTZ_SHARD, Math.max(1, fits));
}

/**
 * AutoDock Vina, measured on this project's 2-vCPU machine (bench/RESULTS.md, section 6):
 * 20 drug ligands at exhaustiveness 4 took 58.0 and 54.5 s of wall time with `--cpu 2`,
 * 2.81 s a ligand, Open Babel's 3D build and the pose conversions included: 5.63 vCPU-seconds
 * held per ligand. Vina runs `exhaustiveness` independent searches, so the work doubles at
 * the default of 8, and spreads over at most `exhaustiveness` vCPUs.
 */
export const VINA_VCPU_SECONDS_PER_LIGAND = { exhaustiveness: 4, vcpuSeconds: 2 * ((58.0 + 54.5) / 2 / 20) } as const;

/** Vina's default exhaustiveness (`vina --help`). */
export const VINA_DEFAULT_EXHAUSTIVENESS = 8;

/** Wall seconds of one VINA ligand on an instance with `vcpus`. */
export function vinaSecondsPerLigand(exhaustiveness: number | null, vcpus: number): number {
  const e = exhaustiveness ?? VINA_DEFAULT_EXHAUSTIVENESS;
  const work = (VINA_VCPU_SECONDS_PER_LIGAND.vcpuSeconds * e) / VINA_VCPU_SECONDS_PER_LIGAND.exhaustiveness;
  return work / Math.max(1, Math.min(vcpus, e));
}

/** The modelled time and cost of a screen, as `estimateBatchCost` answers it. */
export interface ScreenEstimate {
  ligands: number;
  shardSize: number;
  shards: number;
  /** Seconds the model computes for one ligand. */
  secondsPerLigand: number;
  /** Once per shard. */
  modelLoadSeconds: number;
  /** One full shard: load + `shardSize` ligands. */
  shardSeconds: number;
  /** Instance-seconds billed: every shard's load and every ligand. */
  billedSeconds: number;
  /** GPU-seconds billed (`billedSeconds` × GPUs for a GPU model, else 0). */
  gpuSeconds: number;
  costUsd: number;
  costPerLigandUsd: number;
  /** Seconds computing over billed seconds, for a GPU model; null for a CPU model. */
  gpuBusyFraction: number | null;
}

/** A screen of `ligands` in shards of `shardSize`, each loading the model once and then running its ligands. */
export function estimateScreen(
  {
    ligands,
    shardSize,
    secondsPerLigand,
    modelLoadSeconds,
    usesGpu,
  }: { ligands: number; shardSize: number; secondsPerLigand: number; modelLoadSeconds: number; usesGpu: boolean },
  shape: InstanceShape,
  prices: Prices,
): ScreenEstimate {
  const shards = Math.ceil(ligands / shardSize);
  const busySeconds = ligands * secondsPerLigand;
  const billedSeconds = shards * modelLoadSeconds + busySeconds;
  const costUsd = costOfSeconds(billedSeconds, shape, prices);
  return {
    ligands,
    shardSize,
    shards,
    secondsPerLigand,
    modelLoadSeconds,
    shardSeconds: modelLoadSeconds + shardSize * secondsPerLigand,
    billedSeconds,
    gpuSeconds: usesGpu ? billedSeconds * shape.gpus : 0,
    costUsd,
    costPerLigandUsd: costUsd / ligands,
    gpuBusyFraction: usesGpu ? busySeconds / billedSeconds : null,
  };
}
