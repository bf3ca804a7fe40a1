/**
 * How long validating a batch takes, through the real RDKit. Run:
 *   npx vitest bench --run bench/validation.bench.ts
 * A 100,000-ligand pass is the measurement, not a micro-benchmark: each case runs a few
 * times at most and prints its own wall time. "one thread" is `validateBatch` alone;
 * "all cores" first parses the distinct SMILES on worker threads (`parseSmilesInParallel`,
 * thread start-up included), then validates from those results.
 */
import { bench, describe } from 'vitest';
import { parseSmilesInParallel } from '../src/chemistry/parallel-chemistry.js';
import { loadRdkitChemistry } from '../src/chemistry/rdkit-chemistry.js';
import type { BatchDraft } from '../src/domain/submission.js';
import { validateBatch } from '../src/domain/validation/index.js';

/** Drug-like scaffolds with three attachment points (kinase hinge binders, amides, sulfonamides…). */
const SCAFFOLDS = [
  'c1cc({A})c({C})cc1C(=O)N{B}',
  'c1nc({A})c2cc({B})c({C})cc2n1',
  'O=C(N{A})c1ccc(cc1{C}){B}',
  'c1cc(ncc1{A})N1CC({C})N(CC1){B}',
  'C1CN(CCC1{A})C(=O)c1cc({C})c({B})s1',
  'c1cc2[nH]c({A})c({C})c2cc1{B}',
  'c1cc({A})cc(c1{C})S(=O)(=O)N{B}',
  'c1nc({C})nc(c1{A})O{B}',
];
/** Substituents; ring closures use %9x so they never clash with a scaffold's own rings. */
const SUBSTITUENTS = [
  'C',
  'CC',
  'OC',
  'F',
  'Cl',
  'C(F)(F)F',
  'N(C)C',
  'C#N',
  'c%91ccccc%91',
  'C%91CC%91',
  'C(=O)N',
  'CCN%91CCOCC%91',
  'S(C)(=O)=O',
  'c%91ccc(F)cc%91',
  'CC(C)C',
  '[C@@H](N)C(=O)O',
  'CCCCO',
  'c%91ccncc%91',
  'C(=O)OC',
  'OCC(F)F',
  'N%91CCCC%91',
  'CCOc%91ccccc%91',
  'C/C=C/C',
  'Br',
  'CC(=O)Nc%91cccc(Cl)c%91',
];

/** `count` distinct drug-like SMILES (8 × 25³ = 125,000 available), spread over all scaffolds. */
function drugLikeSmiles(count: number): string[] {
  const all: string[] = [];
  for (const a of SUBSTITUENTS) {
    for (const b of SUBSTITUENTS) {
      for (const c of SUBSTITUENTS) {
        for (const scaffold of SCAFFOLDS) all.push(scaffold.replace('{A}', a).replace('{B}', b).replace('{C}', c));
      }
    }
  }
  return all.slice(0, count);
}

const chem = await loadRdkitChemistry();

function batchOf(count: number): BatchDraft {
  return {
    model: 'VINA',
    name: `bench ${count}`,
    protein: {
      structure: { format: 'PDB', content: 'ATOM      1  N   MET A   1      19.353  41.547  -3.887  1.00 72.26           N\n' },
      pocket: { center: [15, 53, 16], size: [20, 20, 20] },
    },
    ligands: drugLikeSmiles(count).map((smiles, i) => ({ smiles, name: `L${i}` })),
  };
}

const ONCE = { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 };

function report(label: string, count: number, started: number, result: ReturnType<typeof validateBatch>): void {
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${label}, ${count} ligands: ${seconds.toFixed(2)} s (${Math.round(count / seconds)} ligands/s), ` +
      `${result.value?.ligands.length ?? 0} valid, ${result.ligandProblems.length} invalid`,
  );
}

describe('validateBatch through RDKit', () => {
  for (const count of [10_000, 100_000]) {
    const draft = batchOf(count);
    bench(
      `${count.toLocaleString('en')} ligands, one thread`,
      () => {
        const started = performance.now();
        report('one thread', count, started, validateBatch(chem, draft));
      },
      ONCE,
    );
    bench(
      `${count.toLocaleString('en')} ligands, all cores`,
      async () => {
        const started = performance.now();
        const parsed = await parseSmilesInParallel(
          chem,
          draft.ligands.map((l) => l.smiles),
        );
        report('all cores', count, started, validateBatch(parsed, draft));
      },
      ONCE,
    );
  }
});
