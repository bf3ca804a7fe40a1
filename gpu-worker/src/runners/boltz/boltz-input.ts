import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { stringify } from 'yaml';
import { inputFailure } from '../failure.js';
import type { ShardJob, ShardMsa } from '../runner.js';

/** The protein is chain A and the ligand chain B in every input (the MSA file is named after A too). */
const PROTEIN_CHAIN = 'A';
const LIGAND_CHAIN = 'B';

/**
 * The folder `boltz predict` reads. It must hold nothing but inputs (Boltz stops on any other
 * file), and its name becomes the results folder's: `boltz_results_inputs`.
 */
export const INPUT_DIR_NAME = 'inputs';

/** One ligand's input file; Boltz names the prediction after `stem`. */
export interface BoltzInput {
  job: ShardJob;
  stem: string;
  path: string;
  yaml: string;
}

/** What `msa:` says for the protein: an absolute path, or Boltz's single-sequence mode. */
export type MsaReference = { kind: 'FILE'; path: string } | { kind: 'EMPTY' };

/**
 * Writes the shard's MSA once under `workDir/msa/` and one YAML per job under
 * `workDir/inputs/`, each pointing at that MSA.
 */
export async function writeShardInputs(
  workDir: string,
  sequence: string,
  msa: ShardMsa,
  jobs: readonly ShardJob[],
): Promise<{ inputDir: string; inputs: BoltzInput[] }> {
  const msaReference = await writeMsa(workDir, msa);
  const inputDir = join(workDir, INPUT_DIR_NAME);
  await mkdir(inputDir);
  const inputs = jobs.map((job, index) => {
    const stem = inputStem(job.id, index);
    const yaml = boltzInputYaml(sequence, job.ligand.canonicalSmiles || job.ligand.smiles, msaReference);
    return { job, stem, path: join(inputDir, `${stem}.yaml`), yaml };
  });
  await Promise.all(inputs.map((input) => writeFile(input.path, input.yaml)));
  return { inputDir, inputs };
}

/**
 * A Boltz-2 input (docs/prediction.md): the protein with its MSA, the ligand, and the affinity
 * of the ligand. Every string is double-quoted: Boltz reads YAML 1.1 (PyYAML), where a bare
 * `NO` or `on` would be a boolean, and a SMILES may hold `#`, `[` or `\`.
 */
export function boltzInputYaml(sequence: string, smiles: string, msa: MsaReference): string {
  const input = {
    version: 1,
    sequences: [
      { protein: { id: PROTEIN_CHAIN, sequence, msa: msa.kind === 'EMPTY' ? 'empty' : msa.path } },
      { ligand: { id: LIGAND_CHAIN, smiles } },
    ],
    properties: [{ affinity: { binder: LIGAND_CHAIN } }],
  };
  return stringify(input, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN', lineWidth: 0 });
}

async function writeMsa(workDir: string, msa: ShardMsa): Promise<MsaReference> {
  if (msa.kind === 'EMPTY') return { kind: 'EMPTY' };
  // Boltz picks the parser by the extension; the name comes from the worker, never a path.
  const name = basename(msa.fileName);
  if (name !== msa.fileName || !/^[\w-][\w.-]*\.(a3m|csv)$/.test(name)) {
    throw inputFailure('MSA_FILE_NAME_INVALID', `the MSA file name "${msa.fileName}" is not a plain .a3m or .csv name`);
  }
  const dir = join(workDir, 'msa');
  await mkdir(dir);
  const path = join(dir, name);
  await writeFile(path, msa.content);
  return { kind: 'FILE', path };
}

/** Job ids (UUIDs) name the inputs, so Boltz's log names the job; anything else gets a plain name. */
function inputStem(jobId: string, index: number): string {
  return /^[A-Za-z0-9][\w-]*$/.test(jobId) ? jobId : `input-${index}`;
}
