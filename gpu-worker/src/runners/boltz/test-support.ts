import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Confidence, Ligand, Parameters, Protein } from '../../../../src/domain/job.js';
import type { LigandOutcome, LigandReport, RunnerFile, ShardInput, ShardMsa } from '../runner.js';
import { BoltzLog } from './boltz-log.js';
import { CDK2_SEQUENCE, FIXTURES } from '../../../../test/support/inputs.js';

/** The fixture's input, CDK2 and the ligand of 1CKP, as the stand-in and the tests read it. */
export { CDK2_SEQUENCE, CDK2_LIGAND_SMILES as CDK2_LIGAND } from '../../../../test/support/inputs.js';

/** The real Boltz-2 run on CDK2 (PDB 1CKP), read-only. */
export const FIXTURE = join(FIXTURES, 'boltz2/cdk2_1ckp/');
export const FIXTURE_ID = '1ckp_cdk2';
export const FIXTURE_PREDICTION = join(FIXTURE, 'boltz_results_1ckp_cdk2/predictions', FIXTURE_ID);

/** The stand-in `boltz` executable. */
export const FAKE_BOLTZ = fileURLToPath(new URL('../../../../test/support/fake-boltz/boltz', import.meta.url));

export function fixtureBytes(name: string): Buffer {
  return readFileSync(join(FIXTURE_PREDICTION, name));
}

export function fixtureJson(name: string): Record<string, number> {
  return JSON.parse(fixtureBytes(name).toString('utf8')) as Record<string, number>;
}

/** The fixture's confidence JSON as a `Confidence`, field by field, independently of the runner's own mapping. */
export function fixtureConfidence(): Confidence {
  const c = fixtureJson(`confidence_${FIXTURE_ID}_model_0.json`);
  return {
    score: c.confidence_score!,
    ptm: c.ptm!,
    iptm: c.iptm!,
    plddt: c.complex_plddt!,
    ligandIptm: c.ligand_iptm!,
    proteinIptm: c.protein_iptm!,
    complexIplddt: c.complex_iplddt!,
    complexPde: c.complex_pde!,
    complexIpde: c.complex_ipde!,
  };
}

/** The fixture's affinity JSON: the headline value and probability, then both heads. */
export function fixtureAffinityHeads() {
  const a = fixtureJson(`affinity_${FIXTURE_ID}.json`);
  return {
    value: a.affinity_pred_value!,
    probabilityBinder: a.affinity_probability_binary!,
    heads: [
      { value: a.affinity_pred_value1!, probabilityBinder: a.affinity_probability_binary1! },
      { value: a.affinity_pred_value2!, probabilityBinder: a.affinity_probability_binary2! },
    ],
  };
}

/** A Boltz cache with every file Boltz-2 needs (one byte each: the stand-in loads nothing). */
export function fakeCache(dir: string): string {
  mkdirSync(join(dir, 'mols'), { recursive: true });
  for (const name of ['boltz2_conf.ckpt', 'boltz2_aff.ckpt', 'mols.tar']) writeFileSync(join(dir, name), 'x');
  return dir;
}

/** UUIDs in ascending order, so the stand-in (which reads its inputs in name order) runs job `i` i-th. */
export function jobId(index: number): string {
  return `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`;
}

export function ligand(smiles: string, name: string | null = null): Ligand {
  return { name, smiles, canonicalSmiles: smiles, heavyAtoms: 0, rotatableBonds: 0, structure: null };
}

export function cdk2(): Protein {
  return { name: 'CDK2', sequence: CDK2_SEQUENCE, structure: null, pocket: null, msa: null };
}

export function parameters(overrides: Partial<Parameters> = {}): Parameters {
  return {
    seed: null,
    diffusionSamples: null,
    samplingSteps: null,
    recyclingSteps: null,
    useMsaServer: null,
    exhaustiveness: null,
    numPoses: null,
    ...overrides,
  };
}

export const EMPTY_MSA: ShardMsa = { kind: 'EMPTY' };

export function shard(smiles: string[], options: { msa?: ShardMsa | null; params?: Parameters } = {}): ShardInput {
  const msa = options.msa === undefined ? EMPTY_MSA : options.msa;
  return {
    protein: cdk2(),
    parameters: options.params ?? parameters(),
    ...(msa && { msa }),
    jobs: smiles.map((s, index) => ({ id: jobId(index), ligand: ligand(s) })),
  };
}

export async function collect(reports: AsyncIterable<LigandReport>): Promise<LigandReport[]> {
  const all: LigandReport[] = [];
  for await (const report of reports) all.push(report);
  return all;
}

export function text(files: RunnerFile[] | undefined, name: string): string {
  return Buffer.from(body(files, name)).toString('utf8');
}

export function body(files: RunnerFile[] | undefined, name: string): Uint8Array | string {
  const found = files?.find((f) => f.name === name);
  if (!found) throw new Error(`no ${name} among ${files?.map((f) => f.name).join(', ')}`);
  return found.body;
}

export function success(outcome: LigandOutcome) {
  if (!outcome.ok) throw new Error(`expected a result, got ${outcome.error.code}: ${outcome.error.message}`);
  return outcome;
}

export function failure(outcome: LigandOutcome) {
  if (outcome.ok) throw new Error('expected a failure, got a result');
  return outcome;
}

/** Runs `fn` with `vars` set in this process's environment, which the stand-in inherits. */
export async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((key) => [key, process.env[key]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/** A shard's output, its lines as Boltz 2.x prints them (src/boltz/main.py, data/module/inferencev2.py, model/models/boltz2.py). */
export const SHARD_LOG = `Checking input data.
Processing 3 inputs with 3 threads.
Failed to process /w/inputs/bad.yaml. Skipping. Error: Missing MSA's in input and --use_msa_server flag not set..
Running structure prediction for 2 inputs.
| WARNING: ran out of memory, skipping batch
Number of failed examples: 1

Predicting property: affinity

Checking input data for affinity.
Running affinity prediction for 2 inputs.
Featurizer failed on odd with error index 3 is out of bounds. Skipping.
Number of failed examples: 0`;

/** A log that has read `text`. */
export function logOf(text: string): BoltzLog {
  const log = new BoltzLog();
  for (const line of text.split('\n')) log.add(line);
  return log;
}

/** Running, and not a zombie waiting for a reaper (an orphan's parent is PID 1, which may never reap). */
export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
