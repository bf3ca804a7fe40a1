import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseVinaBox, parseVec3 } from '../../src/cli/client/box-file.js';
import { parseCsv } from '../../src/cli/client/csv.js';
import { readLigandFile } from '../../src/cli/client/ligand-file.js';
import { parseScreenArgs } from '../../src/cli/client/screen-args.js';
import { findDemoFixtures } from '../../src/cli/client/demo.js';
import { FIXTURES } from '../support/inputs.js';

const dir = mkdtempSync(join(tmpdir(), 'omtx-cli-files-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('CSV reader', () => {
  it('reads quoted fields holding commas, doubled quotes and line breaks', () => {
    expect(parseCsv('\uFEFFa,b\r\n"x, y","say ""hi"""\n"two\nlines",\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['two\nlines', ''],
    ]);
  });

  it('keeps a last record without a line break and refuses an unterminated quote', () => {
    expect(parseCsv('a\nb')).toEqual([['a'], ['b']]);
    expect(() => parseCsv('a\n"b')).toThrow(/unterminated/);
  });
});

describe('ligand files', () => {
  it('reads "SMILES name" lines, skipping comments and blanks, keeping line numbers', () => {
    const path = file('l.smi', '# header\nCCO ethanol\n\nc1ccccc1   benzene ring \nCC\n');
    expect(readLigandFile(path)).toEqual([
      { line: 2, smiles: 'CCO', name: 'ethanol' },
      { line: 4, smiles: 'c1ccccc1', name: 'benzene ring' },
      { line: 5, smiles: 'CC', name: null },
    ]);
  });

  it('reads a CSV by its smiles and name columns in any order and case', () => {
    const path = file('l.csv', 'id,Name,SMILES\n1,"ethanol, absolute",CCO\n,,\n2,,CC\n');
    expect(readLigandFile(path)).toEqual([
      { line: 2, smiles: 'CCO', name: 'ethanol, absolute' },
      { line: 4, smiles: 'CC', name: null },
    ]);
  });

  it('names --ligands when the file is missing, empty, of another type or without a smiles column', () => {
    expect(() => readLigandFile(join(dir, 'none.smi'))).toThrow(/--ligands: cannot read .*ENOENT/);
    expect(() => readLigandFile(file('empty.smi', '# nothing\n'))).toThrow(/--ligands: .* holds no ligands/);
    expect(() => readLigandFile(file('l.mol2', 'x'))).toThrow(/--ligands: .*expected a \.smi or \.csv file/);
    expect(() => readLigandFile(file('bad.csv', 'name,structure\na,CC\n'))).toThrow(/--ligands: .*needs a "smiles" column/);
  });
});

describe('docking box', () => {
  it("reads Vina's box file", () => {
    expect(
      parseVinaBox('center_x = 15.190\ncenter_y = 53.903\ncenter_z = 16.917\nsize_x = 20\nsize_y = 20\nsize_z = 20.0\n', '--box'),
    ).toEqual({
      center: [15.19, 53.903, 16.917],
      size: [20, 20, 20],
    });
  });

  it('names the flag and the missing keys or bad values', () => {
    expect(() => parseVinaBox('center_x = 1\n', '--box')).toThrow(/--box: missing center_y, center_z, size_x/);
    expect(() => parseVinaBox('center_x = one\n', '--box')).toThrow(/--box: line 1: center_x is not a number/);
    expect(() => parseVec3('1,2', '--center')).toThrow(/--center: expected three numbers/);
    expect(parseVec3(' 1, -2.5 ,3e1', '--center')).toEqual([1, -2.5, 30]);
  });
});

describe('screen arguments', () => {
  const receptor = `${FIXTURES}vina/1iep/1iep_receptor.pdbqt`;
  const ligands = file('ok.smi', 'CCO ethanol\n');

  it('reads a full command', () => {
    const command = parseScreenArgs(
      [
        '--ligands',
        ligands,
        '--receptor',
        receptor,
        '--center',
        '1,2,3',
        '--size',
        '20,20,20',
        '--seed',
        '7',
        '--format',
        'json',
      ],
      {},
    );
    expect(command).toMatchObject({
      mode: 'submit',
      url: 'http://127.0.0.1:8000/graphql',
      submission: {
        name: 'ok.smi vs 1iep_receptor',
        receptor: { name: '1iep_receptor', format: 'PDBQT' },
        parameters: { seed: 7 },
      },
      output: { out: 'results.json', format: 'JSON', top: 5 },
    });
  });

  it.each([
    [/^--ligands: required/, ['--receptor', receptor, '--box', 'b.txt']],
    [/^--receptor: required/, ['--ligands', ligands, '--box', 'b.txt']],
    [/^--center: required/, ['--ligands', ligands, '--receptor', receptor]],
    [/^--size: required/, ['--ligands', ligands, '--receptor', receptor, '--center', '1,2,3']],
    [/^--size: box sides must be > 0/, ['--ligands', ligands, '--receptor', receptor, '--center', '1,2,3', '--size', '0,20,20']],
    [/^--center: give the box either/, ['--ligands', ligands, '--receptor', receptor, '--box', 'b.txt', '--center', '1,2,3']],
    [/^--box: cannot read .*ENOENT/, ['--ligands', ligands, '--receptor', receptor, '--box', join(dir, 'none.txt')]],
    [
      /^--exhaustiveness: expected an integer ≥ 1/,
      ['--ligands', ligands, '--receptor', receptor, '--center', '1,2,3', '--size', '9,9,9', '--exhaustiveness', '0'],
    ],
    [
      /^--num-poses: expected an integer/,
      ['--ligands', ligands, '--receptor', receptor, '--center', '1,2,3', '--size', '9,9,9', '--num-poses', '2.5'],
    ],
    [
      /^--seed: expected an integer ≥ 0/,
      ['--ligands', ligands, '--receptor', receptor, '--center', '1,2,3', '--size', '9,9,9', '--seed=-1'],
    ],
    [/^--receptor: r\.mol2: expected a \.pdb or \.pdbqt file/, ['--ligands', ligands, '--receptor', 'r.mol2']],
    [/^--receptor: cannot read/, ['--ligands', ligands, '--receptor', join(dir, 'none.pdbqt')]],
    [/^--url: /, ['--url', 'localhost:8000']],
    [/^--url: expected http/, ['--url', 'ftp://x/graphql']],
    [/^--format: expected one of CSV, JSON, SDF/, ['--format', 'pdf']],
    [/^--ligands: Option '--ligands <value>' argument missing/, ['--ligands']],
    [/Unexpected argument 'stray'/, ['stray']],
  ])('refuses with a message matching %s', (message, args) => {
    expect(() => parseScreenArgs(args, {})).toThrow(message);
  });

  it('refuses --attach with flags of a new screen', () => {
    expect(() => parseScreenArgs(['--attach', 'b1', '--ligands', ligands], {})).toThrow(
      /--attach: .*--ligands applies only to a new screen/,
    );
  });
});

describe('demo fixtures', () => {
  it('finds the shared fixtures beside the repository, or says where it looked', () => {
    expect(findDemoFixtures({})).toMatch(/shared\/fixtures\/vina\/1iep$/);
    expect(() => findDemoFixtures({ OMTX_FIXTURES: join(dir, 'nowhere') })).toThrow(
      /looked for .*nowhere\/vina\/1iep\/1iep_receptor\.pdbqt/,
    );
  });
});
