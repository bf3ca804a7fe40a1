import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inputFailure } from '../failure.js';
import { elementOfType, type VinaPose } from './pdbqt.js';
import { obabel, type ToolContext } from './tools.js';

/** The docked poses as an SD file, one record per pose, and the top pose as PDB. */
export interface ConvertedPoses {
  sdf: string;
  topPosePdb: string;
}

/**
 * Converts Vina's poses PDBQT → PDB → SDF, each pose a molecule of its own. Going straight
 * from PDBQT writes explicit valences that make readers drop the hydrogens PDBQT merged away;
 * from PDB, Open Babel perceives bonds again and `-h` adds every hydrogen. Two Open Babel
 * runs per ligand, whatever the number of poses (it handles each input file separately, in
 * order), since a process per pose was most of the time a screen spent outside Vina.
 */
export async function convertPoses(context: ToolContext, poses: VinaPose[], dir: string, title: string): Promise<ConvertedPoses> {
  // The poses' MODEL blocks in one file; -m writes each molecule to its own numbered file.
  await writeFile(join(dir, 'poses-in.pdbqt'), poses.map((pose) => pose.pdbqt).join(''));
  await obabel(
    context,
    ['-ipdbqt', join(dir, 'poses-in.pdbqt'), '-opdb', '-m', '-O', join(dir, 'pose.pdb')],
    dir,
    'converting the poses to PDB',
  );
  const pdbFiles = poses.map((_, i) => join(dir, `pose${i + 1}.pdb`));
  await obabel(
    context,
    ['-ipdb', ...pdbFiles, '-h', '-osdf', '-O', join(dir, 'poses-h.sdf')],
    dir,
    'converting the poses to SDF',
  );
  const [pdbs, sdf] = await Promise.all([
    Promise.all(pdbFiles.map((f) => readFile(f, 'utf8').catch(() => ''))),
    readFile(join(dir, 'poses-h.sdf'), 'utf8').catch(() => ''),
  ]);
  const sdfRecords = sdf.split('$$$$\n').filter((r) => r.includes('M  END'));
  const records = poses.map((pose, i) => {
    if (!/^(ATOM|HETATM)/m.test(pdbs[i]!) || sdfRecords.length !== poses.length) {
      throw inputFailure('POSE_CONVERSION_FAILED', `Open Babel could not convert docked pose ${pose.rank} to SDF; see log.txt`);
    }
    return sdfRecord(sdfRecords[i]!, `${title} pose ${pose.rank}`, pose);
  });
  return { sdf: records.join(''), topPosePdb: pdbs[0]! };
}

/** The first record of `sdf`, retitled, with cationic nitrogens charged and the scores appended. */
function sdfRecord(sdf: string, title: string, pose: VinaPose): string {
  const end = sdf.indexOf('M  END');
  const lines = sdf.slice(0, end).replace(/\n$/, '').split('\n');
  lines[0] = title;
  const fields = {
    rank: pose.rank,
    vina_affinity_kcal_per_mol: pose.score,
    vina_rmsd_lb: pose.rmsdLowerBound,
    vina_rmsd_ub: pose.rmsdUpperBound,
  };
  const data = Object.entries(fields)
    .map(([name, value]) => `> <${name}>\n${value}\n\n`)
    .join('');
  return `${[...lines, ...chargeLines(lines)].join('\n')}\nM  END\n${data}$$$$\n`;
}

/**
 * `M  CHG` lines for nitrogens with four bonds and no charge. PDB has no formal charges, so a
 * protonated amine comes back neutral and four-valent, which RDKit refuses to read.
 */
function chargeLines(lines: string[]): string[] {
  const counts = lines[3] ?? '';
  const atomCount = Number(counts.slice(0, 3));
  const bondCount = Number(counts.slice(3, 6));
  if (!Number.isInteger(atomCount) || !Number.isInteger(bondCount)) return [];
  const charged = new Set<number>();
  for (const line of lines) {
    if (!line.startsWith('M  CHG')) continue;
    const values = line.slice(9).trim().split(/\s+/).map(Number);
    for (let i = 0; i < values.length; i += 2) charged.add(values[i]!);
  }
  const valence = new Array<number>(atomCount + 1).fill(0);
  for (const line of lines.slice(4 + atomCount, 4 + atomCount + bondCount)) {
    const [a, b, order] = [Number(line.slice(0, 3)), Number(line.slice(3, 6)), Number(line.slice(6, 9))];
    const weight = order === 4 ? 1.5 : order;
    valence[a] = (valence[a] ?? 0) + weight;
    valence[b] = (valence[b] ?? 0) + weight;
  }
  const out: string[] = [];
  lines.slice(4, 4 + atomCount).forEach((line, index) => {
    const atom = index + 1;
    const element = line.slice(31, 34).trim();
    const chargeCode = Number(line.slice(36, 39));
    if (element === 'N' && valence[atom] === 4 && chargeCode === 0 && !charged.has(atom)) {
      out.push(`M  CHG  1 ${String(atom).padStart(3)}   1`);
    }
  });
  return out;
}

/**
 * Receptor and top pose in one PDB for viewers: the receptor's PDBQT records with elements
 * instead of AutoDock types, then the pose as HETATM records of residue LIG, chain L, with
 * its CONECT records renumbered.
 */
export function complexPdb(receptorPdbqt: string, posePdb: string): string {
  const out: string[] = [];
  let serial = 0;
  for (const line of receptorPdbqt.split(/\r?\n/)) {
    if (/^(ATOM {2}|HETATM)/.test(line)) {
      serial += 1;
      const element = elementOfType(line.slice(77, 79).trim());
      out.push(`${line.slice(0, 6)}${fit(serial, 5)}${line.slice(11, 66).padEnd(55)}${' '.repeat(10)}${element.padStart(2)}`);
    } else if (/^TER/.test(line)) {
      out.push('TER');
    }
  }
  if (out.length > 0 && out[out.length - 1] !== 'TER') out.push('TER');
  const renumber = new Map<number, number>();
  for (const line of posePdb.split(/\r?\n/)) {
    if (!/^(ATOM {2}|HETATM)/.test(line)) continue;
    serial += 1;
    renumber.set(Number(line.slice(6, 11)), serial);
    const rest = line.slice(11, 17) + 'LIG L   1' + line.slice(26);
    out.push(`HETATM${fit(serial, 5)}${rest}`);
  }
  for (const line of posePdb.split(/\r?\n/)) {
    if (!line.startsWith('CONECT')) continue;
    const serials = (line.slice(6).match(/.{1,5}/g) ?? [])
      .map((field) => field.trim())
      .filter((field) => field !== '')
      .map((field) => renumber.get(Number(field)));
    if (serials.length < 2 || serials.some((value) => value === undefined)) continue;
    out.push(`CONECT${serials.map((value) => fit(value!, 5)).join('')}`);
  }
  out.push('END');
  return `${out.join('\n')}\n`;
}

/** `value` right-aligned in `width` columns (PDB serials wrap past 99,999 as in hybrid-36 files). */
function fit(value: number, width: number): string {
  return String(value % 10 ** width).padStart(width);
}
