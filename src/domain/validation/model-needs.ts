import type { ModelName, StructureFormat } from '../job.js';

/**
 * What each model reads from a submission. A field a model does not read is accepted and
 * stored (it is still checked for shape, because it is shown back to the user) but never an
 * error for being there — one protein record can then serve both models. The one exception
 * is a prepared ligand structure for BOLTZ2: the user expects it to be used, and it would not.
 */
export interface ModelNeeds {
  /** Protein fields that must be present, with why, for the message. */
  protein: readonly { field: 'sequence' | 'structure' | 'pocket'; why: string }[];
  /** Receptor formats the model can read; others are refused. */
  receptorFormats: readonly StructureFormat[];
  receptorFormatsWhy: string;
  /** Prepared ligand formats the model can read; null when it builds the ligand itself. */
  ligandStructureFormats: readonly StructureFormat[] | null;
  /** Whether `MAX_ROTATABLE_BONDS` applies: a torsion-tree limit of Vina, not of Boltz-2. */
  limitsRotatableBonds: boolean;
}

export const MODEL_NEEDS: Record<ModelName, ModelNeeds> = {
  BOLTZ2: {
    protein: [{ field: 'sequence', why: 'BOLTZ2 predicts the complex from the protein sequence' }],
    receptorFormats: ['PDB', 'PDBQT', 'CIF', 'SDF'],
    receptorFormatsWhy: '',
    ligandStructureFormats: null,
    limitsRotatableBonds: false,
  },
  VINA: {
    protein: [
      { field: 'structure', why: 'VINA docks into a receptor structure' },
      { field: 'pocket', why: 'VINA searches only inside the pocket box' },
    ],
    receptorFormats: ['PDB', 'PDBQT'],
    receptorFormatsWhy: ' (Vina reads receptors as PDBQT; PDB is converted by Open Babel)',
    ligandStructureFormats: ['PDBQT', 'SDF'],
    limitsRotatableBonds: true,
  },
};
