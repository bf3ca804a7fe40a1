/**
 * Reads RFC 4180 CSV text into rows of fields: quoted fields may hold commas, doubled quotes
 * and line breaks; CRLF and LF both end a record; a byte-order mark is dropped. No CSV parser
 * is among the dependencies, and this is all a ligand list needs.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endField = () => {
    row.push(field);
    field = '';
  };
  const endRow = () => {
    endField();
    rows.push(row);
    row = [];
  };
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') endField();
    else if (c === '\n') endRow();
    else if (c === '\r') {
      if (text[i + 1] === '\n') i++;
      endRow();
    } else field += c;
  }
  if (quoted) throw new Error('unterminated quoted field at the end of the file');
  // A last record without a line break still counts; a trailing line break adds nothing.
  if (field !== '' || row.length > 0) endRow();
  return rows;
}
