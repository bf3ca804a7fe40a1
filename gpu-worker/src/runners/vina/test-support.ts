import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Ligand, Parameters, Pocket, Protein, Structure } from '../../../../src/domain/job.js';
import type { LigandReport, RunnerFile, ShardInput } from '../runner.js';

/** AutoDock Vina's 1IEP example (c-Abl kinase with imatinib), read-only. */
export const FIXTURES = fileURLToPath(new URL('../../../../../shared/fixtures/vina/1iep/', import.meta.url));

export function fixture(name: string): string {
  return readFileSync(`${FIXTURES}${name}`, 'utf8');
}

/** The box of the example, parsed from `1iep_receptor.box.txt`. */
export function examplePocket(): Pocket {
  const values = Object.fromEntries(
    fixture('1iep_receptor.box.txt')
      .trim()
      .split('\n')
      .map((line) => line.split('=').map((part) => part.trim()) as [string, string])
      .map(([key, value]) => [key, Number(value)]),
  ) as Record<string, number>;
  return {
    center: [values.center_x!, values.center_y!, values.center_z!],
    size: [values.size_x!, values.size_y!, values.size_z!],
  };
}

export const IMATINIB = 'Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1';

export function ligand(smiles: string, structure: Structure | null = null, name: string | null = null): Ligand {
  return { name, smiles, canonicalSmiles: smiles, heavyAtoms: 0, rotatableBonds: 0, structure };
}

export function protein(structure: Structure | null, pocket: Pocket | null = examplePocket()): Protein {
  return { name: '1IEP', sequence: null, structure, pocket, msa: null };
}

export function parameters(overrides: Partial<Parameters> = {}): Parameters {
  return {
    seed: 42,
    diffusionSamples: null,
    samplingSteps: null,
    recyclingSteps: null,
    useMsaServer: null,
    exhaustiveness: 1,
    numPoses: null,
    ...overrides,
  };
}

export function shard(protein: Protein, ligands: Ligand[], params: Parameters = parameters()): ShardInput {
  return { protein, parameters: params, jobs: ligands.map((l, index) => ({ id: `job-${index}`, ligand: l })) };
}

export async function collect(reports: AsyncIterable<LigandReport>): Promise<LigandReport[]> {
  const all: LigandReport[] = [];
  for await (const report of reports) all.push(report);
  return all;
}

export function file(files: RunnerFile[] | undefined, name: string): string {
  const found = files?.find((f) => f.name === name);
  if (!found) throw new Error(`no ${name} among ${files?.map((f) => f.name).join(', ')}`);
  return typeof found.body === 'string' ? found.body : Buffer.from(found.body).toString('utf8');
}
