import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { StructureFormat } from '../job.js';
import { MAX_STRUCTURE_BYTES } from './limits.js';
import { Problems } from './problems.js';
import { validateStructure } from './structure.js';

const FIXTURES = '/work/shared/fixtures';
const read = (path: string) => readFileSync(`${FIXTURES}/${path}`, 'utf8');
const receptorPdbqt = read('vina/1iep/1iep_receptor.pdbqt');
const receptorPdb = read('vina/1iep/1iep_receptorH.pdb');
const ligandSdf = read('vina/1iep/1iep_ligand.sdf');
const boltzCif = read('boltz2/cdk2_1ckp/boltz_results_1ckp_cdk2/predictions/1ckp_cdk2/1ckp_cdk2_model_0.cif');

const PATH = ['input', 'protein', 'structure'];

function check(format: string, content: string, accepted?: StructureFormat[]) {
  const problems = new Problems();
  const structure = validateStructure(problems, PATH, { format: format as StructureFormat, content }, accepted);
  return { structure, invalid: problems.list };
}

describe('validateStructure', () => {
  it.each([
    ['PDBQT', receptorPdbqt],
    ['PDB', receptorPdb],
    ['SDF', ligandSdf],
    ['CIF', boltzCif],
  ])('accepts the real %s fixture', (format, content) => {
    expect(check(format, content)).toEqual({ structure: { format, content }, invalid: [] });
  });

  it('accepts a PDBQT receptor as PDB too: the columns PDB needs are there', () => {
    expect(check('PDB', receptorPdbqt).invalid).toEqual([]);
  });

  it('refuses a PDB file sent as PDBQT: it has no AutoDock atom types', () => {
    const { invalid } = check('PDBQT', receptorPdb);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]!.path).toEqual([...PATH, 'content']);
    expect(invalid[0]!.message).toMatch(
      /^has \d+ ATOM\/HETATM records without x, y, z in columns 31–54, a partial charge in columns 67–76 and an AutoDock atom type in columns 78–79 \(lines 2, 3, 4 and \d+ more\)/,
    );
  });

  it.each([
    ['CIF', 'PDB'],
    ['SDF', 'PDB'],
    ['PDB', 'CIF'],
    ['PDB', 'SDF'],
  ])('refuses %s content declared as %s', (actual, declared) => {
    const content = { CIF: boltzCif, SDF: ligandSdf, PDB: receptorPdb }[actual]!;
    const { invalid } = check(declared, content);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]!.message).toContain(`(format given: ${declared})`);
  });

  it('names the line of an atom record with broken coordinates', () => {
    const broken = receptorPdb.replace(/^(ATOM {2}.{24}).{8}/m, '$1  abc   ');
    expect(check('PDB', broken).invalid[0]!.message).toMatch(/without x, y, z as numbers in columns 31–54 \(line \d+\)/);
  });

  it('refuses empty content and an unknown format together', () => {
    expect(check('XYZ', ' \n').invalid).toEqual([
      { path: [...PATH, 'format'], message: 'must be one of PDB, PDBQT, CIF, SDF, got "XYZ"' },
      { path: [...PATH, 'content'], message: 'must not be empty' },
    ]);
  });

  it('refuses content above 20 MiB', () => {
    const big = receptorPdb.repeat(Math.ceil((MAX_STRUCTURE_BYTES + 1) / receptorPdb.length));
    expect(check('PDB', big).invalid[0]!.message).toMatch(/^must be at most 20 MiB, got 20\.\d MiB$/);
  });

  it('refuses a format the model cannot read, naming the ones it can', () => {
    expect(check('CIF', boltzCif, ['PDB', 'PDBQT']).invalid).toEqual([
      { path: [...PATH, 'format'], message: 'must be PDB or PDBQT, got CIF' },
    ]);
  });
});
