/**
 * Reading the PDBQT text Vina and Open Babel exchange. Columns follow the PDB ATOM record
 * (x, y, z in 31–54) plus AutoDock's partial charge in 71–76 and atom type in 78–79.
 */

export interface PdbqtAtom {
  /** 1-based line number in the text, for messages. */
  line: number;
  name: string;
  x: number;
  y: number;
  z: number;
  /** Null when the charge column is blank or not a number: plain PDB, not PDBQT. */
  charge: number | null;
  /** AutoDock atom type (`C`, `A`, `OA`, `HD`, …); empty when missing. */
  type: string;
}

const ATOM_RECORD = /^(ATOM {2}|HETATM)/;

/** The ATOM/HETATM records of `text`; coordinates that do not parse are NaN. */
export function parseAtoms(text: string): PdbqtAtom[] {
  const atoms: PdbqtAtom[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    if (!ATOM_RECORD.test(raw)) return;
    const chargeText = raw.slice(70, 76).trim();
    const charge = chargeText === '' ? NaN : Number(chargeText);
    atoms.push({
      line: index + 1,
      name: raw.slice(12, 16).trim(),
      x: parseFloat(raw.slice(30, 38)),
      y: parseFloat(raw.slice(38, 46)),
      z: parseFloat(raw.slice(46, 54)),
      charge: Number.isFinite(charge) ? charge : null,
      type: raw.slice(77, 79).trim(),
    });
  });
  return atoms;
}

/** AutoDock types of hydrogens: `H` (non-polar), `HD` (donor), `HS`. */
export function isHydrogen(atom: Pick<PdbqtAtom, 'type'>): boolean {
  return /^H[DS]?$/.test(atom.type);
}

/** The element of an AutoDock type, as a PDB/SDF element symbol. */
export function elementOfType(type: string): string {
  switch (type) {
    case 'A':
      return 'C';
    case 'OA':
    case 'OS':
      return 'O';
    case 'NA':
    case 'NS':
      return 'N';
    case 'SA':
      return 'S';
    case 'HD':
    case 'HS':
      return 'H';
    default:
      // Metals and halogens are written as elements (Zn, Cl, Br…), some in upper case (ZN).
      return type.length === 2 ? type[0]! + type[1]!.toLowerCase() : type;
  }
}

/** The torsion tree of a ligand PDBQT, as far as the checks need it. */
export interface TorsionTree {
  atoms: PdbqtAtom[];
  /** ROOT records: one per molecule, so more than one means several fragments. */
  roots: number;
  /** BRANCH records: one per active (rotatable) torsion. */
  branches: number;
  /** The TORSDOF value, or null when the record is missing. */
  torsdof: number | null;
}

export function readTorsionTree(text: string): TorsionTree {
  let roots = 0;
  let branches = 0;
  let torsdof: number | null = null;
  for (const line of text.split(/\r?\n/)) {
    if (/^ROOT\b/.test(line)) roots += 1;
    else if (/^BRANCH\b/.test(line)) branches += 1;
    else if (/^TORSDOF\b/.test(line)) {
      const value = Number(line.slice(7).trim());
      torsdof = Number.isFinite(value) ? value : null;
    }
  }
  return { atoms: parseAtoms(text), roots, branches, torsdof };
}

/** One pose of Vina's output, with its `REMARK VINA RESULT` scores. */
export interface VinaPose {
  rank: number;
  /** kcal/mol; lower is better. */
  score: number;
  rmsdLowerBound: number;
  rmsdUpperBound: number;
  /** The MODEL … ENDMDL block, as Vina wrote it. */
  pdbqt: string;
}

const VINA_RESULT = /^REMARK VINA RESULT:\s+(\S+)\s+(\S+)\s+(\S+)/m;

/** Poses of a Vina `--out` file in rank order; a MODEL without a parseable score is skipped. */
export function parseVinaPoses(text: string): VinaPose[] {
  const poses: VinaPose[] = [];
  const blocks = text.match(/^MODEL\b[\s\S]*?^ENDMDL.*$/gm) ?? [];
  for (const block of blocks) {
    const match = VINA_RESULT.exec(block);
    if (!match) continue;
    const [score, lb, ub] = [Number(match[1]), Number(match[2]), Number(match[3])];
    if (![score, lb, ub].every(Number.isFinite)) continue;
    poses.push({ rank: poses.length + 1, score, rmsdLowerBound: lb, rmsdUpperBound: ub, pdbqt: `${block}\n` });
  }
  return poses;
}

/** Heavy-atom RMSD (Å) between two conformations of the same PDBQT, atoms matched by order. */
export function heavyAtomRmsd(reference: PdbqtAtom[], pose: PdbqtAtom[]): number {
  const a = reference.filter((atom) => !isHydrogen(atom));
  const b = pose.filter((atom) => !isHydrogen(atom));
  if (a.length === 0 || a.length !== b.length) {
    throw new Error(`cannot match atoms by order: ${a.length} heavy atoms in the reference, ${b.length} in the pose`);
  }
  let sum = 0;
  a.forEach((atom, index) => {
    const other = b[index]!;
    if (elementOfType(atom.type) !== elementOfType(other.type)) {
      throw new Error(`heavy atom ${index + 1} is ${atom.type} in the reference but ${other.type} in the pose`);
    }
    sum += (atom.x - other.x) ** 2 + (atom.y - other.y) ** 2 + (atom.z - other.z) ** 2;
  });
  return Math.sqrt(sum / a.length);
}
