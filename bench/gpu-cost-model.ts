/**
 * Prints the GPU-time model of a BOLTZ2 screen (bench/RESULTS.md, "GPU time and cost of a
 * screen") from the same functions `estimateBatchCost` and the dispatcher use:
 * `npx tsx bench/gpu-cost-model.ts`. Nothing is measured here; every input is a documented
 * figure of `src/domain/cost.ts`.
 */
import {
  BOLTZ_A100_SECONDS_PER_LIGAND,
  BOLTZ_L4_TIMING,
  CLOUD_RUN_PRICES,
  L4_INSTANCE,
  boltzSecondsPerLigand,
  boltzShardSize,
  estimateScreen,
  pricePerSecond,
  type BoltzTiming,
} from '../src/domain/cost.js';

/** Issue 4's goals. */
const GOAL_USD_PER_LIGAND = 0.015;
const GOAL_BUSY = 0.85;
/** The worker's default `OMTX_BOLTZ_SHARD_TIME_LIMIT_SECONDS`. */
const TIME_LIMIT_SECONDS = 1_500;
const DEFAULTS = { diffusionSamples: null, samplingSteps: null, recyclingSteps: null };

function row(shardSize: number, timing: BoltzTiming, label = String(shardSize)): string {
  const e = estimateScreen(
    {
      ligands: shardSize * 100,
      shardSize,
      secondsPerLigand: boltzSecondsPerLigand(DEFAULTS, timing.referenceResidues, timing),
      modelLoadSeconds: timing.modelLoadSeconds,
      usesGpu: true,
    },
    L4_INSTANCE,
    CLOUD_RUN_PRICES,
  );
  const fits = e.shardSeconds <= TIME_LIMIT_SECONDS;
  const met = fits && e.costPerLigandUsd <= GOAL_USD_PER_LIGAND && e.gpuBusyFraction! >= GOAL_BUSY;
  return [
    label,
    `${e.shardSeconds.toLocaleString('en-US')} s${fits ? '' : ' (over the limit)'}`,
    `${(e.billedSeconds / e.ligands).toFixed(2)} s`,
    `$${e.costPerLigandUsd.toFixed(5)}`,
    `${(e.gpuBusyFraction! * 100).toFixed(1)} %`,
    met ? 'yes' : '**no**',
  ].join(' | ');
}

const base = BOLTZ_L4_TIMING;
const chosen = boltzShardSize(DEFAULTS, TIME_LIMIT_SECONDS);
console.log(
  `L4 instance ${L4_INSTANCE.gpus} GPU, ${L4_INSTANCE.vcpus} vCPU, ${L4_INSTANCE.memoryGib} GiB: ` +
    `$${pricePerSecond(L4_INSTANCE, CLOUD_RUN_PRICES).toFixed(7)} a second. ` +
    `${BOLTZ_A100_SECONDS_PER_LIGAND} s a ligand on an A100 → ${base.secondsPerLigand} s on an L4; load ${base.modelLoadSeconds} s a shard.\n`,
);
console.log('| shard size | one shard | billed s / ligand | $ / ligand | GPU busy | goal met |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const size of [1, 8, 32]) console.log(`| ${row(size, base)} |`);
console.log(`| ${row(chosen, base, `${chosen} (boltzShardSize)`)} |`);

console.log('\nSensitivity at each timing’s own boltzShardSize (default parameters):\n');
console.log('| L4 s / ligand | load | shard size | one shard | billed s / ligand | $ / ligand | GPU busy | goal met |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const slowdown of [2, 2.5, 3]) {
  for (const load of [25, 40]) {
    const timing = { ...base, secondsPerLigand: BOLTZ_A100_SECONDS_PER_LIGAND * slowdown, modelLoadSeconds: load };
    const size = boltzShardSize(DEFAULTS, TIME_LIMIT_SECONDS, { timing });
    console.log(`| ${timing.secondsPerLigand} s (${slowdown}× A100) | ${load} s | ${row(size, timing)} |`);
  }
}
