import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseCsv } from './csv.js';
import { UsageError } from './usage-error.js';

/** One ligand read from a file; `line` is where it starts (1-based), for messages. */
export interface LigandRow {
  line: number;
  smiles: string;
  name: string | null;
}

const SMILES_EXTENSIONS = ['.smi', '.smiles', '.txt'];

/**
 * Reads a ligand list: `.smi` ("SMILES name" per line, `#` comments, the name may hold
 * spaces) or `.csv` (a header with a `smiles` column and an optional `name` column, any case,
 * any order, other columns ignored). Blank lines are skipped. Errors name `flag`.
 */
export function readLigandFile(path: string, flag = '--ligands'): LigandRow[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(flag, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const ext = extname(path).toLowerCase();
  let rows: LigandRow[];
  if (ext === '.csv') rows = fromCsv(text, path, flag);
  else if (SMILES_EXTENSIONS.includes(ext)) rows = fromSmi(text);
  else throw new UsageError(flag, `${path}: expected a .smi or .csv file, got "${ext || 'no extension'}"`);
  if (rows.length === 0) throw new UsageError(flag, `${path} holds no ligands`);
  return rows;
}

function fromSmi(text: string): LigandRow[] {
  const rows: LigandRow[] = [];
  for (const [n, raw] of text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(\S+)(?:\s+(.*))?$/.exec(line)!;
    rows.push({ line: n + 1, smiles: match[1]!, name: match[2]?.trim() || null });
  }
  return rows;
}

function fromCsv(text: string, path: string, flag: string): LigandRow[] {
  let records: string[][];
  try {
    records = parseCsv(text);
  } catch (error) {
    throw new UsageError(flag, `${path}: ${(error as Error).message}`);
  }
  const header = (records[0] ?? []).map((h) => h.trim().toLowerCase());
  const smilesAt = header.indexOf('smiles');
  const nameAt = header.indexOf('name');
  if (smilesAt < 0) {
    throw new UsageError(flag, `${path}: the header needs a "smiles" column (found: ${header.join(', ') || 'nothing'})`);
  }
  // Line numbers count physical lines; a quoted field with a line break is rare enough that
  // numbering records from the header is close enough for messages.
  return records.slice(1).flatMap((record, i) => {
    const smiles = record[smilesAt]?.trim() ?? '';
    if (record.every((f) => f.trim() === '')) return [];
    return [{ line: i + 2, smiles, name: (nameAt >= 0 ? record[nameAt]?.trim() : '') || null }];
  });
}
