import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RunnerFailure } from '../failure.js';
import { boltzInputYaml, writeShardInputs } from './boltz-input.js';
import { CDK2_LIGAND, CDK2_SEQUENCE, jobId, ligand } from './test-support.js';

const scratch = mkdtempSync(join(tmpdir(), 'boltz-input-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Read as Boltz reads it: PyYAML implements YAML 1.1. */
function asBoltzReadsIt(text: string): unknown {
  return parse(text, { version: '1.1' });
}

describe('Boltz-2 input YAML', () => {
  it('holds the protein with its MSA, the ligand, and asks for the ligand’s affinity', () => {
    const yaml = boltzInputYaml(CDK2_SEQUENCE, CDK2_LIGAND, { kind: 'FILE', path: '/work/msa/A.a3m' });
    expect(asBoltzReadsIt(yaml)).toEqual({
      version: 1,
      sequences: [
        { protein: { id: 'A', sequence: CDK2_SEQUENCE, msa: '/work/msa/A.a3m' } },
        { ligand: { id: 'B', smiles: CDK2_LIGAND } },
      ],
      properties: [{ affinity: { binder: 'B' } }],
    });
    expect(yaml.split('\n')[0]).toBe('version: 1');
  });

  it('asks for single-sequence mode with `msa: empty`', () => {
    const yaml = boltzInputYaml('MKV', 'CCO', { kind: 'EMPTY' });
    expect(asBoltzReadsIt(yaml)).toMatchObject({ sequences: [{ protein: { msa: 'empty' } }, { ligand: { smiles: 'CCO' } }] });
  });

  it('keeps SMILES that YAML 1.1 would read as booleans, numbers or comments, and stereo backslashes', () => {
    for (const smiles of ['NO', 'on', 'Y', '1', 'C#N', '[Na+].[Cl-]', 'F/C=C\\F', 'C(=O)O # not a comment', "C'C"]) {
      const read = asBoltzReadsIt(boltzInputYaml('MKV', smiles, { kind: 'EMPTY' })) as {
        sequences: [unknown, { ligand: { smiles: unknown } }];
      };
      expect(read.sequences[1].ligand.smiles).toBe(smiles);
    }
  });

  it('never folds a long sequence across lines', () => {
    const sequence = CDK2_SEQUENCE.repeat(5);
    const yaml = boltzInputYaml(sequence, 'CCO', { kind: 'EMPTY' });
    expect(yaml).toContain(`sequence: "${sequence}"\n`);
  });
});

describe('writeShardInputs', () => {
  it('writes the MSA once and one YAML per job, named by job id, each pointing at the MSA', async () => {
    const dir = mkdtempSync(join(scratch, 'file-'));
    const jobs = [0, 1].map((i) => ({ id: jobId(i), ligand: ligand(i === 0 ? 'CCO' : 'CCN') }));
    const content = '>query\nMKV\n>hit\nMRV\n';
    const { inputDir, inputs } = await writeShardInputs(dir, 'MKV', { kind: 'FILE', fileName: 'A.a3m', content }, jobs);

    expect(readFileSync(join(dir, 'msa/A.a3m'), 'utf8')).toBe(content);
    expect(inputDir).toBe(join(dir, 'inputs'));
    expect(readdirSync(inputDir).sort()).toEqual([`${jobId(0)}.yaml`, `${jobId(1)}.yaml`]);
    expect(inputs.map((input) => [input.job.id, input.stem])).toEqual([
      [jobId(0), jobId(0)],
      [jobId(1), jobId(1)],
    ]);
    for (const input of inputs) {
      expect(readFileSync(input.path, 'utf8')).toBe(input.yaml);
      expect(asBoltzReadsIt(input.yaml)).toMatchObject({
        sequences: [{ protein: { msa: join(dir, 'msa/A.a3m') } }, { ligand: { smiles: input.job.ligand.canonicalSmiles } }],
      });
    }
  });

  it('writes no MSA file in single-sequence mode, and gives ids that are no file name a plain one', async () => {
    const dir = mkdtempSync(join(scratch, 'empty-'));
    const { inputs } = await writeShardInputs(dir, 'MKV', { kind: 'EMPTY' }, [{ id: '../x y', ligand: ligand('CCO') }]);
    expect(readdirSync(dir)).toEqual(['inputs']);
    expect(inputs[0]!.stem).toBe('input-0');
    expect(asBoltzReadsIt(inputs[0]!.yaml)).toMatchObject({ sequences: [{ protein: { msa: 'empty' } }, {}] });
  });

  it('refuses an MSA file name that is a path', async () => {
    const dir = mkdtempSync(join(scratch, 'bad-'));
    const msa = { kind: 'FILE' as const, fileName: '../A.a3m' as const, content: '' };
    const thrown = (await writeShardInputs(dir, 'MKV', msa, []).catch((e: unknown) => e)) as RunnerFailure;
    expect(thrown.error).toMatchObject({ code: 'MSA_FILE_NAME_INVALID', retryable: false });
  });
});
