import type { Mol } from '@rdkit/rdkit';
import type { Chemistry, ParsedMolecule } from '../domain/chemistry.js';
import { loadRdkitModule } from './rdkit-module.js';
import { countSubstructMatches, STRICT_ROTATABLE_BOND_SMARTS } from './rotatable-bonds.js';

/**
 * Characters no SMILES contains but that make `get_mol` read something else: whitespace ends
 * a SMILES (RDKit parses `CCO ethanol` as ethanol, `CCO |…|` as CXSMILES), a string with
 * `M  END` is read as a molfile and one with `{"commonchem"` as JSON.
 */
const NOT_SMILES = /[\s{}"]/;

/**
 * The domain's `Chemistry` backed by RDKit MinimalLib (WebAssembly).
 *
 * Per molecule it parses once (sanitized, hydrogens removed, stereo assigned: RDKit's
 * defaults) and asks for only what validation needs, each the cheapest way measured:
 * canonical SMILES (`get_smiles`), heavy atoms (`get_num_atoms(true)`, counts deuterium as
 * hydrogen like RDKit's `NumHeavyAtoms`), fragments (the `.`-separated parts of the canonical
 * SMILES, so no `get_frags` MolList to allocate) and strict rotatable bonds (one substructure
 * search; see `rotatable-bonds.ts`). `get_descriptors()` would give the same counts but
 * computes ~40 descriptors: ten times slower, the difference between seconds and minutes
 * for a 100,000-ligand batch.
 */
export async function loadRdkitChemistry(): Promise<Chemistry> {
  const rdkit = await loadRdkitModule();
  // Lives as long as the process, like the module itself: never deleted.
  const query = rdkit.get_qmol(STRICT_ROTATABLE_BOND_SMARTS);
  if (query === null || !query.is_valid()) {
    throw new Error('RDKit could not compile the rotatable-bond SMARTS pattern');
  }
  const rotatableBond = query;

  function countRotatableBonds(mol: Mol): number {
    if (mol.get_num_atoms() === mol.get_num_atoms(true)) {
      return countSubstructMatches(mol.get_substruct_matches(rotatableBond));
    }
    // Explicit hydrogens survive parsing when they carry an isotope ([2H]) and would make a
    // CD3 group look non-terminal; RDKit's descriptor counts on the molecule without them.
    const heavy = rdkit.get_mol_copy(mol);
    if (heavy === null) throw new Error('RDKit could not copy a parsed molecule');
    try {
      heavy.remove_hs_in_place();
      return countSubstructMatches(heavy.get_substruct_matches(rotatableBond));
    } finally {
      heavy.delete();
    }
  }

  function parseSmiles(smiles: string): ParsedMolecule | null {
    if (NOT_SMILES.test(smiles)) return null;
    // Invalid input gives null in current builds and an invalid Mol in older ones.
    const mol = rdkit.get_mol(smiles);
    if (mol === null) return null;
    try {
      if (!mol.is_valid()) return null;
      const canonicalSmiles = mol.get_smiles();
      return {
        canonicalSmiles,
        heavyAtoms: mol.get_num_atoms(true),
        rotatableBonds: countRotatableBonds(mol),
        fragments: canonicalSmiles === '' ? 0 : canonicalSmiles.split('.').length,
      };
    } finally {
      // WebAssembly memory is not garbage-collected: every Mol must be freed by hand.
      mol.delete();
    }
  }

  return { parseSmiles };
}
