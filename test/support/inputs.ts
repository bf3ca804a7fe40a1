import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The shared fixtures (read-only in CI): AutoDock Vina's 1IEP example, a real Boltz-2 run on CDK2. */
export const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));

export const RECEPTOR_1IEP = readFileSync(`${FIXTURES}vina/1iep/1iep_receptor.pdbqt`, 'utf8');
export const POCKET_1IEP = { center: [15.19, 53.903, 16.917], size: [20, 20, 20] };

/** A few real drug-like ligands (imatinib first, the ligand of 1IEP). */
export const LIGANDS = [
  { name: 'imatinib', smiles: 'Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1' },
  { name: 'aspirin', smiles: 'CC(=O)Oc1ccccc1C(=O)O' },
  { name: 'caffeine', smiles: 'Cn1cnc2c1c(=O)n(C)c(=O)n2C' },
  { name: 'ibuprofen', smiles: 'CC(C)Cc1ccc(cc1)C(C)C(=O)O' },
  { name: 'paracetamol', smiles: 'CC(=O)Nc1ccc(O)cc1' },
];

export function vinaProtein() {
  return { name: '1IEP', structure: { format: 'PDBQT' as const, content: RECEPTOR_1IEP }, pocket: POCKET_1IEP };
}

/** `n` ligands cycling through LIGANDS, each with its own name. */
export function ligands(n: number) {
  return Array.from({ length: n }, (_, i) => ({ name: `L${i}`, smiles: LIGANDS[i % LIGANDS.length]!.smiles }));
}

/** The real Boltz-2 run's input (`boltz2/cdk2_1ckp/input/1ckp_cdk2.yaml`): CDK2 and the 1CKP ligand. */
const CDK2_INPUT = parse(readFileSync(`${FIXTURES}boltz2/cdk2_1ckp/input/1ckp_cdk2.yaml`, 'utf8')) as {
  sequences: [{ protein: { sequence: string } }, { ligand: { smiles: string } }];
};
export const CDK2_SEQUENCE = CDK2_INPUT.sequences[0].protein.sequence;
export const CDK2_LIGAND_SMILES = CDK2_INPUT.sequences[1].ligand.smiles;
