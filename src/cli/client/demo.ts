import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../../repo-root.js';
import { readBox, readReceptor, parseFlags, parseUrl, DEFAULT_URL, type ScreenCommand } from './screen-args.js';
import { UsageError } from './usage-error.js';

/** The crystal ligand of 1IEP first, then known drugs that are not Abl inhibitors. */
export const DEMO_LIGANDS = [
  { name: 'imatinib', smiles: 'Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1' },
  { name: 'aspirin', smiles: 'CC(=O)Oc1ccccc1C(=O)O' },
  { name: 'caffeine', smiles: 'Cn1cnc2c1c(=O)n(C)c(=O)n2C' },
  { name: 'ibuprofen', smiles: 'CC(C)Cc1ccc(cc1)C(C)C(=O)O' },
  { name: 'diazepam', smiles: 'CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21' },
  // As large as imatinib: a decoy that a score biased toward size alone would rank high.
  { name: 'sildenafil', smiles: 'CCCc1nn(C)c2c(=O)[nH]c(-c3cc(S(=O)(=O)N4CCN(C)CC4)ccc3OCC)nc12' },
];

export const DEMO_OUT = 'omtx-demo-results.csv';
const SAMPLE = join('vina', '1iep');

/**
 * The shared fixtures: `$OMTX_FIXTURES`, else `../shared/fixtures` beside the repository
 * (found by walking up from this file to `package.json`, so it works from `src/` and `dist/`).
 * Returns the folder holding the 1IEP sample or says where it looked.
 */
export function findDemoFixtures(env: NodeJS.ProcessEnv = process.env, from = fileURLToPath(import.meta.url)): string {
  const base = env.OMTX_FIXTURES ? resolve(env.OMTX_FIXTURES) : join(checkout(from), '..', 'shared', 'fixtures');
  const sample = join(base, SAMPLE);
  const needed = ['1iep_receptor.pdbqt', '1iep_receptor.box.txt'].map((f) => join(sample, f));
  const missing = needed.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    const origin = env.OMTX_FIXTURES ? 'from OMTX_FIXTURES' : 'beside the repository; set OMTX_FIXTURES to the fixtures folder';
    throw new UsageError(null, `the 1IEP sample is missing: looked for ${missing.join(' and ')} (${origin})`);
  }
  return sample;
}

function checkout(from: string): string {
  const root = repoRoot(from);
  if (root === null) throw new UsageError(null, `cannot find the omtx-hub repository above ${from}; set OMTX_FIXTURES`);
  return root;
}

/** `omtx demo [--url URL]`: the 1IEP screen as a ScreenCommand; null means help. */
export function parseDemoArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ScreenCommand | null {
  const { values } = parseFlags(argv, { url: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const);
  if (values.help) return null;
  const url = parseUrl(values.url ?? (env.OMTX_URL || DEFAULT_URL));
  const sample = findDemoFixtures(env);
  return {
    mode: 'submit',
    url,
    submission: {
      name: 'omtx demo: imatinib and decoys vs 1IEP',
      ligands: DEMO_LIGANDS.map((l, i) => ({ ...l, line: i + 1 })),
      receptor: { ...readReceptor(join(sample, '1iep_receptor.pdbqt')), name: '1IEP' },
      pocket: readBox(join(sample, '1iep_receptor.box.txt')),
      parameters: { exhaustiveness: 4, seed: 1 },
      skipInvalid: false,
    },
    output: { out: DEMO_OUT, format: 'CSV', top: DEMO_LIGANDS.length },
  };
}
