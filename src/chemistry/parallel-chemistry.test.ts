import { beforeAll, describe, expect, it } from 'vitest';
import type { Chemistry } from '../domain/chemistry.js';
import { parseSmilesInParallel } from './parallel-chemistry.js';
import { loadRdkitChemistry } from './rdkit-chemistry.js';

let chem: Chemistry;
beforeAll(async () => {
  chem = await loadRdkitChemistry();
});

/** 6,000 distinct SMILES (a pyridine between two alkyl chains), one repeated, one unparseable, one salt. */
const smiles = [
  ...Array.from({ length: 6_000 }, (_, i) => `${'C'.repeat(1 + (i % 60))}c1ccncc1${'C'.repeat(Math.floor(i / 60))}O`),
  'CO',
  'CO',
  'C1CC',
  'CC(=O)[O-].[Na+]',
];

describe('parseSmilesInParallel', () => {
  it('gives exactly what the single-threaded parser gives', async () => {
    const parallel = await parseSmilesInParallel(chem, smiles, { workers: 1 });
    expect(parallel).not.toBe(chem);
    for (const s of new Set(smiles)) expect(parallel.parseSmiles(s)).toEqual(chem.parseSmiles(s));
  });

  it('answers SMILES it was not given through the fallback', async () => {
    const parallel = await parseSmilesInParallel(chem, smiles, { workers: 1 });
    expect(parallel.parseSmiles('OC1=CC=CC=C1')?.canonicalSmiles).toBe('Oc1ccccc1');
  });

  it('does not start threads for a small batch', async () => {
    expect(await parseSmilesInParallel(chem, ['CCO'], { workers: 1 })).toBe(chem);
  });
});
