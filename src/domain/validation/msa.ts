import { MSA_FORMATS, type Msa, type MsaFormat } from '../job.js';
import type { MsaDraft } from '../submission.js';
import { MAX_MSA_BYTES } from './limits.js';
import { type FieldPath, type Problems, quote } from './problems.js';

/** Rows quoted in a message before "and N more". */
const QUOTED_ROWS = 5;

/**
 * An uploaded MSA of the protein: A3M or Boltz's CSV (`key,sequence`), at most
 * `MAX_MSA_BYTES`. Its first sequence must be the protein's own (gaps removed) and every row
 * must align to it: as many match columns (upper-case letters and `-`; lower-case letters are
 * A3M insertions) as the query has residues. Boltz would otherwise fail the input after the
 * GPU has loaded its weights, or silently model the wrong target.
 */
export function validateMsa(problems: Problems, path: FieldPath, draft: MsaDraft, sequence: string | null): Msa | null {
  const before = problems.list.length;
  const { format, content } = draft;
  if (!(MSA_FORMATS as readonly string[]).includes(format)) {
    problems.add([...path, 'format'], `must be one of ${MSA_FORMATS.join(', ')}, got ${quote(String(format))}`);
  }
  if (typeof content !== 'string' || content.trim() === '') {
    problems.add([...path, 'content'], 'must not be empty');
    return null;
  }
  const bytes = Buffer.byteLength(content, 'utf8');
  if (bytes > MAX_MSA_BYTES) {
    problems.add(
      [...path, 'content'],
      `must be at most ${MAX_MSA_BYTES / 1024 / 1024} MiB, got ${(bytes / 1024 / 1024).toFixed(1)} MiB`,
    );
    return null;
  }
  if (problems.list.length > before) return null;

  const rows =
    format === 'A3M' ? a3mRows(problems, [...path, 'content'], content) : csvRows(problems, [...path, 'content'], content);
  if (rows === null) return null;
  if (rows.length === 0) {
    problems.add(
      [...path, 'content'],
      `holds no sequences; ${format === 'A3M' ? 'an A3M has ">name" lines, each followed by its sequence' : 'a CSV has the header "key,sequence" and one row per sequence'}`,
    );
    return null;
  }
  checkRows(problems, [...path, 'content'], rows, sequence);
  return problems.list.length > before ? null : { format: format as MsaFormat, content };
}

/** An MSA row: where it is (1-based line) and its aligned sequence. */
interface Row {
  line: number;
  sequence: string;
}

/**
 * A3M as Boltz reads it (`_parse_a3m`): `#` lines and blank lines skipped anywhere, `>name`
 * lines, and every other line a sequence of its own. A sequence wrapped over several lines
 * would be read as several short sequences, so it is refused, naming the line.
 */
function a3mRows(problems: Problems, path: FieldPath, content: string): Row[] | null {
  const rows: Row[] = [];
  const wrapped: string[] = [];
  let header = false;
  content.split(/\r?\n/).forEach((raw, index) => {
    // ColabFold separates the MSAs of several queries with NUL bytes; one query has none.
    const line = raw.replaceAll('\0', '').trim();
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith('>')) header = true;
    else if (header) {
      rows.push({ line: index + 1, sequence: line });
      header = false;
    } else wrapped.push(`line ${index + 1}`);
  });
  if (wrapped.length > 0) {
    problems.add(
      path,
      `has sequence lines without their own ">name" line (${listed(wrapped)}): Boltz reads each line as a sequence, so write each sequence on one line`,
    );
    return null;
  }
  return rows;
}

/** Boltz's CSV: the header `key,sequence`, then `<integer key>,<aligned sequence>` rows. */
function csvRows(problems: Problems, path: FieldPath, content: string): Row[] | null {
  const lines = content.split(/\r?\n/);
  const header = lines[0]!.trim();
  if (header !== 'key,sequence') {
    problems.add(path, `must start with the header "key,sequence" (Boltz's MSA CSV), got ${quote(header)}`);
    return null;
  }
  const rows: Row[] = [];
  const bad: string[] = [];
  lines.slice(1).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    const [key, sequence, extra] = line.split(',');
    if (extra !== undefined || sequence === undefined || !/^-?\d+$/.test(key!.trim())) bad.push(`line ${index + 2}`);
    else rows.push({ line: index + 2, sequence: sequence.trim() });
  });
  if (bad.length > 0) {
    problems.add(
      path,
      `has ${bad.length} malformed row${bad.length === 1 ? '' : 's'} (${listed(bad)}); each row is "<integer key>,<sequence>"`,
    );
    return null;
  }
  return rows;
}

function checkRows(problems: Problems, path: FieldPath, rows: Row[], sequence: string | null): void {
  const query = rows[0]!.sequence.replaceAll('-', '').toUpperCase();
  if (sequence !== null && query !== sequence) {
    problems.add(path, `must be the MSA of input.protein.sequence: its first sequence ${mismatch(query, sequence)}`);
    return;
  }
  const columns = matchColumns(rows[0]!.sequence);
  const badCharacters: string[] = [];
  const misaligned: string[] = [];
  for (const row of rows) {
    if (!/^[A-Za-z-]*$/.test(row.sequence)) badCharacters.push(`line ${row.line}`);
    else if (matchColumns(row.sequence) !== columns) misaligned.push(`line ${row.line} has ${matchColumns(row.sequence)}`);
  }
  if (badCharacters.length > 0) {
    problems.add(path, `has sequences with characters other than letters and "-" (${listed(badCharacters)})`);
  }
  if (misaligned.length > 0) {
    problems.add(
      path,
      `has rows that do not align to the query's ${columns} columns (${listed(misaligned)}); count upper-case letters and "-"`,
    );
  }
}

/** Columns a row fills in the alignment: upper-case residues and gaps; lower-case letters are insertions. */
function matchColumns(row: string): number {
  let count = 0;
  for (const c of row) if (c === '-' || (c >= 'A' && c <= 'Z')) count++;
  return count;
}

function mismatch(query: string, sequence: string): string {
  if (query.length !== sequence.length) return `has ${query.length} residues, the protein ${sequence.length}`;
  const at = [...query].findIndex((c, i) => c !== sequence[i]);
  return `differs at residue ${at + 1} (${query[at]} instead of ${sequence[at]})`;
}

function listed(items: string[]): string {
  const more = items.length > QUOTED_ROWS ? ` and ${items.length - QUOTED_ROWS} more` : '';
  return `${items.slice(0, QUOTED_ROWS).join(', ')}${more}`;
}
