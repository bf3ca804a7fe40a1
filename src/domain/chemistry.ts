/**
 * What validation needs from a cheminformatics toolkit. The domain names the need; the
 * RDKit adapter (`src/chemistry/rdkit-chemistry.ts`) fills it.
 */
export interface ParsedMolecule {
  canonicalSmiles: string;
  heavyAtoms: number;
  rotatableBonds: number;
  /** Disconnected parts ("." in SMILES): salts, solvents, mixtures. */
  fragments: number;
}

export interface Chemistry {
  /** Null when the toolkit cannot parse the SMILES. */
  parseSmiles(smiles: string): ParsedMolecule | null;
}
