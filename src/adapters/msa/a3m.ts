/**
 * Turns the A3M files of an MSA server result into the CSV Boltz writes, step for step as
 * Boltz does (`run_mmseqs2` gathers the lines, `compute_msa` writes the CSV), so a Boltz run
 * reading our CSV sees exactly what `boltz predict --use_msa_server` would have given it.
 */

/** The number the MSA server gives the first (here: only) query, as in `>101`. */
export const FIRST_QUERY_ID = 101;

/** Boltz's `const.max_msa_seqs`: rows kept in the CSV, the query included. */
export const BOLTZ_MAX_MSA_SEQS = 16_384;

// Python's `str.splitlines()` breaks at these, not only at "\n".
// eslint-disable-next-line no-control-regex -- the file separators \x1c–\x1e are among them
const PY_LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;
// Python's `str.strip()` removes what `str.isspace()` accepts, which differs from JS `trim()`
// (Python strips \x1c–\x1f and \x85 but keeps \ufeff).
const PY_SPACE = '[\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const PY_STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, 'g');

/** An A3M file of the result that does not have the shape the MSA server writes. */
export class MalformedA3mError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedA3mError';
  }
}

/**
 * Collects each query's lines (with their line ends) from the server's A3M files, in file
 * order, keyed by the query's number. A file holds one alignment per query, each ended by a
 * NUL (MMseqs2 database format), so the header after a NUL names the next query; every
 * other header is a hit of the current one.
 */
export function gatherA3mLines(files: readonly string[]): Map<number, string[]> {
  const byQuery = new Map<number, string[]>();
  for (const file of files) {
    let current: string[] | undefined;
    let expectQuery = true;
    // Python reads the file in text mode: "\r\n" and "\r" arrive as "\n".
    for (let line of file.replace(/\r\n?/g, '\n').split(/(?<=\n)/)) {
      if (line.includes('\0')) {
        line = line.replaceAll('\0', '');
        expectQuery = true;
      }
      if (line.startsWith('>') && expectQuery) {
        const id = line.slice(1).trim();
        if (!/^[+-]?\d+$/.test(id))
          throw new MalformedA3mError(`expected a query header such as ">101", got ${JSON.stringify(line.slice(0, 80))}`);
        expectQuery = false;
        const key = Number(id);
        current = byQuery.get(key) ?? [];
        byQuery.set(key, current);
      }
      if (!current)
        throw new MalformedA3mError(`expected the file to start with a query header, got ${JSON.stringify(line.slice(0, 80))}`);
      current.push(line);
    }
  }
  return byQuery;
}

/**
 * The CSV Boltz's `compute_msa` writes for one protein chain without pairing: `key,sequence`,
 * then every second line of the query's alignments (the sequences; each file starts with the
 * query itself, so it appears once per file), at most {@link BOLTZ_MAX_MSA_SEQS} rows, key
 * -1, lines joined by "\n" with none at the end.
 */
export function unpairedMsaCsv(a3mFiles: readonly string[], queryId: number = FIRST_QUERY_ID): string {
  const lines = gatherA3mLines(a3mFiles).get(queryId);
  if (!lines) throw new MalformedA3mError(`no alignment for query >${queryId} in the result`);
  const sequences = lines
    .join('')
    .replace(PY_STRIP, '')
    .split(PY_LINE_BREAK)
    .filter((_, index) => index % 2 === 1)
    .slice(0, BOLTZ_MAX_MSA_SEQS);
  return ['key,sequence', ...sequences.map((sequence) => `-1,${sequence}`)].join('\n');
}
