import { describe, expect, it } from 'vitest';
import {
  BOLTZ_L4_TIMING,
  CLOUD_RUN_PRICES,
  L4_INSTANCE,
  addUsage,
  assertUsage,
  boltzSecondsPerLigand,
  boltzShardSize,
  costOfSeconds,
  estimateScreen,
  pricePerSecond,
  usageOf,
  vinaSecondsPerLigand,
} from './cost.js';

const DEFAULTS = { diffusionSamples: null, samplingSteps: null, recyclingSteps: null };
const CPU_BOX = { gpus: 0, vcpus: 2, memoryGib: 23.5 };

describe('instance prices', () => {
  it('prices an L4 instance at $0.0001867 + 4 × $0.000018 + 16 × $0.000002 = $0.0002907 a second', () => {
    expect(pricePerSecond(L4_INSTANCE, CLOUD_RUN_PRICES)).toBeCloseTo(0.0002907, 12);
    expect(costOfSeconds(100, L4_INSTANCE, CLOUD_RUN_PRICES)).toBeCloseTo(0.02907, 12);
  });

  it('records 100 s on an L4 as 100,000 ms, 100,000 GPU-ms and 29,070,000 nano-dollars', () => {
    expect(usageOf(100, true, L4_INSTANCE, CLOUD_RUN_PRICES)).toEqual({
      runtimeMs: 100_000,
      gpuMs: 100_000,
      costNanoUsd: 29_070_000,
    });
  });

  it('bills a CPU model on a machine without GPU for vCPUs and memory only: 100 s × (2 × 0.000018 + 23.5 × 0.000002)', () => {
    expect(usageOf(100, false, CPU_BOX, CLOUD_RUN_PRICES)).toEqual({ runtimeMs: 100_000, gpuMs: 0, costNanoUsd: 8_300_000 });
  });

  it('bills the whole instance but no GPU time when a CPU model runs on a GPU instance', () => {
    expect(usageOf(1.5, false, L4_INSTANCE, CLOUD_RUN_PRICES)).toEqual({ runtimeMs: 1_500, gpuMs: 0, costNanoUsd: 436_050 });
  });

  it('rounds to whole milliseconds and prices the rounded time', () => {
    expect(usageOf(0.0004, true, L4_INSTANCE, CLOUD_RUN_PRICES)).toEqual({ runtimeMs: 0, gpuMs: 0, costNanoUsd: 0 });
    expect(usageOf(2.0006, true, L4_INSTANCE, CLOUD_RUN_PRICES)).toEqual({
      runtimeMs: 2_001,
      gpuMs: 2_001,
      costNanoUsd: 581_691,
    });
  });

  it('adds usage from nothing and keeps whole units', () => {
    const a = { runtimeMs: 10, gpuMs: 10, costNanoUsd: 2_907 };
    expect(addUsage(null, a)).toEqual(a);
    expect(addUsage(a, a)).toEqual({ runtimeMs: 20, gpuMs: 20, costNanoUsd: 5_814 });
  });

  it('refuses a usage that is fractional, negative or not a number, naming the field', () => {
    expect(() => assertUsage({ runtimeMs: 1.5, gpuMs: 0, costNanoUsd: 0 })).toThrow(/usage\.runtimeMs/);
    expect(() => assertUsage({ runtimeMs: 1, gpuMs: -1, costNanoUsd: 0 })).toThrow(/usage\.gpuMs/);
    expect(() => assertUsage({ runtimeMs: 1, gpuMs: 0, costNanoUsd: Number.NaN })).toThrow(/usage\.costNanoUsd/);
    expect(() => assertUsage({ runtimeMs: 1, gpuMs: 0, costNanoUsd: 0 })).not.toThrow();
  });
});

describe('BOLTZ2 time model', () => {
  it('takes 20 s × 2.5 = 50 s a ligand on an L4 at the defaults and the reference size', () => {
    expect(boltzSecondsPerLigand(DEFAULTS)).toBe(50);
    expect(boltzSecondsPerLigand({ diffusionSamples: 1, samplingSteps: 200, recyclingSteps: 3 })).toBe(50);
  });

  it('scales the diffusion with samples × steps and the trunk with recycles + 1, never the affinity pass', () => {
    // 50 × (0.5 × (0.5 × 1 + 0.5 × 5) + 0.5) = 100
    expect(boltzSecondsPerLigand({ ...DEFAULTS, diffusionSamples: 5 })).toBe(100);
    // 50 × (0.5 × (0.5 × 11/4 + 0.5 × 1) + 0.5) = 71.875
    expect(boltzSecondsPerLigand({ ...DEFAULTS, recyclingSteps: 10 })).toBe(71.875);
    // 50 × (0.5 × (0.5 × 1 + 0.5 × 0.5) + 0.5) = 43.75
    expect(boltzSecondsPerLigand({ ...DEFAULTS, samplingSteps: 100 })).toBe(43.75);
  });

  it('scales the structure pass with the square of the protein length', () => {
    // 600 residues: 50 × (0.5 × 4 + 0.5) = 125
    expect(boltzSecondsPerLigand(DEFAULTS, 600)).toBe(125);
    expect(boltzSecondsPerLigand(DEFAULTS, 150)).toBe(31.25);
  });

  it('sizes a shard to fill 80 % of the time limit: (1,200 − 40) / 50 → 23 ligands at the defaults', () => {
    expect(boltzShardSize(DEFAULTS, 1_500)).toBe(23);
    expect(boltzShardSize({ ...DEFAULTS, diffusionSamples: 5 }, 1_500)).toBe(11);
    expect(boltzShardSize(DEFAULTS, 1_500, { residues: 1_300 })).toBe(2);
  });

  it('caps a shard at 32 ligands and never plans fewer than one', () => {
    expect(boltzShardSize(DEFAULTS, 86_400)).toBe(32);
    expect(boltzShardSize(DEFAULTS, 60)).toBe(1);
  });

  it('takes the GPU timing it is given', () => {
    const measured = { ...BOLTZ_L4_TIMING, secondsPerLigand: 30, modelLoadSeconds: 20 };
    expect(boltzShardSize(DEFAULTS, 1_500, { timing: measured })).toBe(32);
    expect(boltzShardSize(DEFAULTS, 600, { timing: measured })).toBe(15);
  });
});

describe('VINA time model', () => {
  it('holds 5.625 vCPU-seconds a ligand at exhaustiveness 4, twice that at the default 8', () => {
    expect(vinaSecondsPerLigand(4, 2)).toBeCloseTo(2.8125, 12);
    expect(vinaSecondsPerLigand(null, 2)).toBeCloseTo(5.625, 12);
    expect(vinaSecondsPerLigand(8, 4)).toBeCloseTo(2.8125, 12);
  });

  it('spreads a ligand over at most `exhaustiveness` vCPUs', () => {
    expect(vinaSecondsPerLigand(8, 16)).toBeCloseTo(1.40625, 12);
    // Exhaustiveness 2: 2.8125 vCPU-seconds over 2 vCPUs, however many the instance has.
    expect(vinaSecondsPerLigand(2, 8)).toBeCloseTo(1.40625, 12);
    expect(vinaSecondsPerLigand(2, 2)).toBeCloseTo(1.40625, 12);
  });
});

describe('a screen', () => {
  it('prices 1,000 BOLTZ2 ligands in shards of 23: 44 loads + 1,000 ligands = 51,760 s = $15.05', () => {
    const estimate = estimateScreen(
      { ligands: 1_000, shardSize: 23, secondsPerLigand: 50, modelLoadSeconds: 40, usesGpu: true },
      L4_INSTANCE,
      CLOUD_RUN_PRICES,
    );
    expect(estimate).toMatchObject({ ligands: 1_000, shardSize: 23, shards: 44, shardSeconds: 1_190, billedSeconds: 51_760 });
    expect(estimate.gpuSeconds).toBe(51_760);
    expect(estimate.costUsd).toBeCloseTo(15.046632, 9);
    expect(estimate.costPerLigandUsd).toBeCloseTo(0.015046632, 12);
    expect(estimate.gpuBusyFraction).toBeCloseTo(50_000 / 51_760, 12);
  });

  it('bills a lone ligand its whole load: 90 s, $0.026, the GPU busy 56 %', () => {
    const estimate = estimateScreen(
      { ligands: 1, shardSize: 1, secondsPerLigand: 50, modelLoadSeconds: 40, usesGpu: true },
      L4_INSTANCE,
      CLOUD_RUN_PRICES,
    );
    expect(estimate.costUsd).toBeCloseTo(0.026163, 9);
    expect(estimate.gpuBusyFraction).toBeCloseTo(50 / 90, 12);
  });

  it('gives a CPU model no GPU-seconds and no busy fraction', () => {
    const estimate = estimateScreen(
      { ligands: 100, shardSize: 4, secondsPerLigand: 2.8125, modelLoadSeconds: 0, usesGpu: false },
      { gpus: 0, vcpus: 4, memoryGib: 8 },
      CLOUD_RUN_PRICES,
    );
    expect(estimate).toMatchObject({ shards: 25, billedSeconds: 281.25, gpuSeconds: 0, gpuBusyFraction: null });
    expect(estimate.costUsd).toBeCloseTo(281.25 * 0.000088, 12);
  });
});
