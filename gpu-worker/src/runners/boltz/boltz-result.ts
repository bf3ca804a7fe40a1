import { affinityUnitOf, type Affinity, type AffinityHead, type Confidence, type Pose } from '../../../../src/domain/job.js';
import type { RunnerResult } from '../runner.js';
import type { BoltzAffinity, BoltzConfidence, BoltzPrediction } from './boltz-outputs.js';

/**
 * kcal/mol per log10 unit of a dissociation-like constant: RT·ln 10 at 298.15 K. Boltz-2's value
 * is log10(IC50 / µM), so pIC50 = 6 − value and ΔG ≈ −1.364 × pIC50 (taking IC50 for Kd).
 */
const KCAL_PER_LOG10 = 1.364;

/** Boltz-2's affinity value (log10 IC50 in µM) as an approximate binding free energy. */
export function kcalPerMolOf(log10Ic50Micromolar: number): number {
  return -KCAL_PER_LOG10 * (6 - log10Ic50Micromolar);
}

/**
 * The result of one input: the best model's confidence, the affinity with both heads, and one
 * pose per diffusion sample in Boltz's confidence ranking (rank 1 = model_0, score = its
 * confidence score, higher is better; Boltz gives no RMSD between samples).
 */
export function boltzResult(prediction: BoltzPrediction, provenance: Record<string, unknown>): RunnerResult {
  return {
    affinity: affinityOf(prediction.affinity),
    confidence: confidenceOf(prediction.models[0]!.confidence),
    poses: prediction.models.map((model): Pose => ({
      rank: model.rank + 1,
      score: model.confidence.confidence_score,
      rmsdLowerBound: null,
      rmsdUpperBound: null,
    })),
    provenance,
  };
}

function confidenceOf(c: BoltzConfidence): Confidence {
  return {
    score: c.confidence_score,
    ptm: c.ptm ?? null,
    iptm: c.iptm ?? null,
    plddt: c.complex_plddt ?? null,
    ligandIptm: c.ligand_iptm ?? null,
    proteinIptm: c.protein_iptm ?? null,
    complexIplddt: c.complex_iplddt ?? null,
    complexPde: c.complex_pde ?? null,
    complexIpde: c.complex_ipde ?? null,
  };
}

function affinityOf(a: BoltzAffinity): Affinity {
  const heads: AffinityHead[] = [];
  for (const [value, probabilityBinder] of [
    [a.affinity_pred_value1, a.affinity_probability_binary1],
    [a.affinity_pred_value2, a.affinity_probability_binary2],
  ]) {
    if (value !== undefined) heads.push({ value, probabilityBinder: probabilityBinder ?? null });
  }
  return {
    value: a.affinity_pred_value,
    unit: affinityUnitOf('BOLTZ2'),
    kcalPerMol: kcalPerMolOf(a.affinity_pred_value),
    probabilityBinder: a.affinity_probability_binary,
    heads,
  };
}
