import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunnerFile } from '../runner.js';

/**
 * One input's prediction folder as `boltz predict --output_format mmcif` writes it
 * (src/boltz/data/write/writer.py), under `<out_dir>/boltz_results_<input dir>/predictions/<id>/`:
 *
 * - structure stage, per diffusion sample ranked k by confidence (model_0 is the best):
 *   `<id>_model_k.cif`, `confidence_<id>_model_k.json`, `plddt_/pae_/pde_<id>_model_k.npz`;
 * - affinity stage, after every input's structure: `affinity_<id>.json`.
 */
export function predictionDir(outDir: string, inputDirName: string, stem: string): string {
  return join(outDir, `boltz_results_${inputDirName}`, 'predictions', stem);
}

/** One diffusion sample, as written. */
export interface BoltzModel {
  /** Boltz's rank by confidence, 0 the best. */
  rank: number;
  cif: Buffer;
  confidence: BoltzConfidence;
  confidenceJson: Buffer;
  /** Absent when this Boltz wrote none. */
  plddt?: Buffer;
  pae?: Buffer;
  pde?: Buffer;
}

/** `confidence_<id>_model_k.json`: the confidence score and its parts, 0–1 except the PDEs (Å). */
export interface BoltzConfidence {
  confidence_score: number;
  ptm?: number;
  iptm?: number;
  ligand_iptm?: number;
  protein_iptm?: number;
  complex_plddt?: number;
  complex_iplddt?: number;
  complex_pde?: number;
  complex_ipde?: number;
}

/** `affinity_<id>.json`: the mean of the two heads, and each head (suffix 1 and 2). */
export interface BoltzAffinity {
  affinity_pred_value: number;
  affinity_probability_binary: number;
  affinity_pred_value1?: number;
  affinity_probability_binary1?: number;
  affinity_pred_value2?: number;
  affinity_probability_binary2?: number;
}

export interface BoltzPrediction {
  /** Ordered by rank. */
  models: BoltzModel[];
  affinity: BoltzAffinity;
  affinityJson: Buffer;
}

/** Whether the structure stage wrote the input's best model. */
export async function hasStructure(dir: string, stem: string): Promise<boolean> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.includes(`${stem}_model_0.cif`) && names.includes(`confidence_${stem}_model_0.json`);
}

/**
 * The input's prediction once it is complete: its affinity (the last file Boltz writes for
 * it) reads as whole JSON, and its best model is there. Null until then: Boltz writes files
 * in place, so a file being written reads as truncated JSON.
 */
export async function readPrediction(dir: string, stem: string): Promise<BoltzPrediction | null> {
  const affinityJson = await readFile(join(dir, `affinity_${stem}.json`)).catch(() => null);
  const affinity = affinityJson && parseJson<BoltzAffinity>(affinityJson, ['affinity_pred_value', 'affinity_probability_binary']);
  if (!affinity) return null;
  const names = await readdir(dir);
  const model = new RegExp(`^${escapeRegExp(stem)}_model_(\\d+)\\.cif$`);
  const ranks = names
    .map((name) => model.exec(name)?.[1])
    .filter((rank) => rank !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  if (ranks[0] !== 0) return null;
  const optional = (name: string) => (names.includes(name) ? readFile(join(dir, name)) : Promise.resolve(undefined));
  const models = await Promise.all(
    ranks.map(async (rank): Promise<BoltzModel | null> => {
      const suffix = `${stem}_model_${rank}`;
      const [cif, confidenceJson, plddt, pae, pde] = await Promise.all([
        readFile(join(dir, `${suffix}.cif`)),
        readFile(join(dir, `confidence_${suffix}.json`)).catch(() => null),
        optional(`plddt_${suffix}.npz`),
        optional(`pae_${suffix}.npz`),
        optional(`pde_${suffix}.npz`),
      ]);
      const confidence = confidenceJson && parseJson<BoltzConfidence>(confidenceJson, ['confidence_score']);
      return confidence && { rank, cif, confidence, confidenceJson: confidenceJson!, plddt, pae, pde };
    }),
  );
  if (models.some((m) => m === null)) return null;
  return { models: models as BoltzModel[], affinity, affinityJson };
}

/**
 * The files of a prediction under DESIGN.md's names: the best model as `structure.cif`,
 * `confidence.json`, `pae.npz`, `pde.npz`, `plddt.npz`; the other samples with `_model_k`;
 * `affinity.json`. Boltz's own bytes, unchanged.
 */
export function predictionFiles(prediction: BoltzPrediction): RunnerFile[] {
  const files: RunnerFile[] = [];
  for (const model of prediction.models) {
    const suffix = model.rank === 0 ? '' : `_model_${model.rank}`;
    files.push({ name: `structure${suffix}.cif`, contentType: 'chemical/x-mmcif', body: model.cif });
    files.push({ name: `confidence${suffix}.json`, contentType: 'application/json', body: model.confidenceJson });
    for (const [kind, body] of [
      ['pae', model.pae],
      ['pde', model.pde],
      ['plddt', model.plddt],
    ] as const) {
      if (body) files.push({ name: `${kind}${suffix}.npz`, contentType: 'application/octet-stream', body });
    }
  }
  files.push({ name: 'affinity.json', contentType: 'application/json', body: prediction.affinityJson });
  return files;
}

/** The parsed object when `bytes` is whole JSON with a number under each of `required`. */
function parseJson<T>(bytes: Buffer, required: (keyof T & string)[]): T | null {
  try {
    const value = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    return required.every((key) => typeof value[key] === 'number') ? (value as T) : null;
  } catch {
    return null;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
