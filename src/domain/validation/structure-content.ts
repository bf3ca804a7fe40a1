import type { StructureFormat } from '../job.js';

/**
 * Cheap checks that a file is the format it claims, so a swapped upload (a CIF sent as PDB,
 * a SMILES pasted as SDF) is refused at submission instead of failing on a worker minutes
 * later. They look at the records the runners read, not at every rule of each format.
 *
 * Each returns why the content does not look like the format, or null when it does.
 */
export function structureContentProblem(format: StructureFormat, content: string): string | null {
  switch (format) {
    case 'PDB':
      return atomRecordProblem(content, false);
    case 'PDBQT':
      return atomRecordProblem(content, true);
    case 'CIF':
      return cifProblem(content);
    case 'SDF':
      return sdfProblem(content);
  }
}

const ATOM_RECORD = /^(ATOM {2}|HETATM)/;
/** A PDB coordinate (`%8.3f`) or PDBQT charge (`%10.3f`) field, right-aligned. */
const COORDINATE = /^\s*[-+]?\d+(\.\d*)?\s*$/;
/**
 * AutoDock atom types (columns 78–79): one or two letters, or a letter and a digit for the
 * flexible-macrocycle types (G0…G3, CG0 is written `G0` in that column).
 */
const AUTODOCK_TYPE = /^[A-Za-z][A-Za-z0-9]?$/;
/** Lines quoted in a message, at most. */
const QUOTED_LINES = 3;

/**
 * PDB and PDBQT: at least one ATOM/HETATM record, each with x, y, z in columns 31–38,
 * 39–46, 47–54. PDBQT also needs what Vina reads instead of the element: the partial charge
 * (columns 67–76) and the AutoDock atom type (columns 78–79). A plain PDB has both blank
 * there, or its element in 77–78, so it is told apart from a prepared receptor.
 */
function atomRecordProblem(content: string, pdbqt: boolean): string | null {
  const badLines: number[] = [];
  let atoms = 0;
  let lineNumber = 0;
  for (const line of content.split(/\r?\n/)) {
    lineNumber += 1;
    if (!ATOM_RECORD.test(line)) continue;
    atoms += 1;
    const coordinatesOk = [line.slice(30, 38), line.slice(38, 46), line.slice(46, 54)].every((field) => COORDINATE.test(field));
    const typeOk = !pdbqt || (COORDINATE.test(line.slice(66, 76)) && AUTODOCK_TYPE.test(line.slice(77, 79).trim()));
    if (!coordinatesOk || !typeOk) badLines.push(lineNumber);
  }
  const what = pdbqt ? 'PDBQT' : 'PDB';
  if (atoms === 0) return `has no ATOM or HETATM records; is it a ${what} file?`;
  if (badLines.length === 0) return null;
  const need = pdbqt
    ? 'x, y, z in columns 31–54, a partial charge in columns 67–76 and an AutoDock atom type in columns 78–79'
    : 'x, y, z as numbers in columns 31–54';
  return `has ${badLines.length} ATOM/HETATM ${badLines.length === 1 ? 'record' : 'records'} without ${need} (${listLines(badLines)})`;
}

/** mmCIF: a `data_` block and an `_atom_site.` category, the table Boltz and viewers read. */
function cifProblem(content: string): string | null {
  if (!/^data_\S*/m.test(content)) return 'has no data_ block; is it an mmCIF file?';
  if (!/^_atom_site\./m.test(content)) return 'has no _atom_site. loop with atom coordinates';
  return null;
}

/** SDF/molfile: a counts line (V2000 or V3000) on the 4th line and an `M  END` line. */
function sdfProblem(content: string): string | null {
  const countsLine = content.split(/\r?\n/, 4)[3] ?? '';
  if (!/V[23]000/.test(countsLine)) return 'has no V2000 or V3000 counts line on line 4; is it an SDF file?';
  if (!/^M {2}END/m.test(content)) return 'has no "M  END" line closing the molecule';
  return null;
}

function listLines(lineNumbers: number[]): string {
  const shown = lineNumbers.slice(0, QUOTED_LINES).join(', ');
  const more = lineNumbers.length - QUOTED_LINES;
  return more > 0 ? `lines ${shown} and ${more} more` : `line${lineNumbers.length === 1 ? '' : 's'} ${shown}`;
}
