/** What one shard's `boltz predict` is run with; recorded in every result's provenance. */
export interface PredictSettings {
  seed: number;
  diffusionSamples: number;
  samplingSteps: number;
  recyclingSteps: number;
  accelerator: 'gpu' | 'cpu';
  cacheDir: string;
}

/**
 * The arguments of `boltz predict` over a folder of inputs (src/boltz/main.py). Never
 * `--use_msa_server`: every input names its MSA, computed once per target before the shard.
 * The affinity stage keeps Boltz's own settings.
 */
export function predictArgs(inputDir: string, outDir: string, settings: PredictSettings): string[] {
  return [
    'predict', inputDir,
    '--out_dir', outDir,
    '--cache', settings.cacheDir,
    '--output_format', 'mmcif',
    '--diffusion_samples', String(settings.diffusionSamples),
    '--sampling_steps', String(settings.samplingSteps),
    '--recycling_steps', String(settings.recyclingSteps),
    '--seed', String(settings.seed),
    '--accelerator', settings.accelerator,
  ]; // prettier-ignore
}
