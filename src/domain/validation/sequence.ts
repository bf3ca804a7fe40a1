import { MAX_SEQUENCE_LENGTH, MIN_SEQUENCE_LENGTH } from './limits.js';
import { type FieldPath, type Problems } from './problems.js';

/**
 * One-letter codes accepted: the 20 standard amino acids and X for an unknown residue.
 * Boltz-2 also takes B, Z, J, U (selenocysteine) and O (pyrrolysine) but silently models
 * each as unknown (UNK); refusing them makes that substitution the user's visible choice
 * (write X) instead of a surprise in the result.
 */
export const AMINO_ACID_CODES = 'ACDEFGHIKLMNPQRSTVWYX';
const AMINO_ACID = new Set(AMINO_ACID_CODES);
/** Bad positions quoted in a message before "and N more". */
const QUOTED_POSITIONS = 5;

/**
 * A protein sequence: whitespace removed (pasted FASTA bodies wrap lines), upper-cased,
 * one-letter codes only, `MIN_SEQUENCE_LENGTH`..`MAX_SEQUENCE_LENGTH` residues. Blank means
 * none. Positions in messages are 1-based residue numbers, counted after whitespace removal.
 */
export function validateSequence(problems: Problems, path: FieldPath, value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (value.trimStart().startsWith('>')) {
    problems.add(path, 'looks like FASTA: give only the residues, without the ">" header line');
    return null;
  }
  const sequence = value.replace(/\s+/g, '').toUpperCase();
  if (sequence === '') return null;
  const before = problems.list.length;

  if (sequence.length < MIN_SEQUENCE_LENGTH || sequence.length > MAX_SEQUENCE_LENGTH) {
    problems.add(path, `must have between ${MIN_SEQUENCE_LENGTH} and ${MAX_SEQUENCE_LENGTH} residues, got ${sequence.length}`);
  }
  const bad: string[] = [];
  for (let i = 0; i < sequence.length; i++) {
    const code = sequence[i]!;
    if (!AMINO_ACID.has(code)) bad.push(`${JSON.stringify(code)} at ${i + 1}`);
  }
  if (bad.length > 0) {
    const shown = bad.slice(0, QUOTED_POSITIONS).join(', ');
    const more = bad.length > QUOTED_POSITIONS ? ` and ${bad.length - QUOTED_POSITIONS} more` : '';
    problems.add(
      path,
      `has ${bad.length} ${bad.length === 1 ? 'character that is' : 'characters that are'} not an amino-acid code: ` +
        `${shown}${more}; allowed are the 20 standard one-letter codes and X for unknown`,
    );
  }
  return problems.list.length === before ? sequence : null;
}
