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
import { drugLikeSmiles } from './support/smiles.js';

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
