import { describe, expect, it } from 'vitest';
import { Problems } from './problems.js';
import { validateSequence } from './sequence.js';

const PATH = ['input', 'protein', 'sequence'];

function check(value: string | null) {
  const problems = new Problems();
  return { sequence: validateSequence(problems, PATH, value), invalid: problems.list };
}

describe('validateSequence', () => {
  it('removes whitespace and upper-cases', () => {
    expect(check(' mkvlaagivg\nALLWXKK \t').sequence).toBe('MKVLAAGIVGALLWXKK');
  });

  it('treats a missing or blank sequence as none', () => {
    expect(check(null)).toEqual({ sequence: null, invalid: [] });
    expect(check(' \n ')).toEqual({ sequence: null, invalid: [] });
  });

  it('names the 1-based positions and characters of bad residues, then how many more', () => {
    const { invalid } = check('MKV1AAG*IVGBZJUOAL');
    expect(invalid).toEqual([
      {
        path: PATH,
        message:
          'has 7 characters that are not an amino-acid code: "1" at 4, "*" at 8, "B" at 12, "Z" at 13, "J" at 14 and 2 more; ' +
          'allowed are the 20 standard one-letter codes and X for unknown',
      },
    ]);
  });

  it('counts positions after removing whitespace, as residue numbers', () => {
    expect(check('MKVLA AGIV9').invalid[0]!.message).toContain('"9" at 10');
  });

  it('refuses fewer than 10 or more than 5000 residues', () => {
    expect(check('MKVLAAGIV').invalid[0]!.message).toBe('must have between 10 and 5000 residues, got 9');
    expect(check('A'.repeat(5001)).invalid[0]!.message).toBe('must have between 10 and 5000 residues, got 5001');
    expect(check('A'.repeat(5000)).invalid).toEqual([]);
  });

  it('refuses a FASTA header instead of reading it as residues', () => {
    expect(check('>sp|P24941|CDK2_HUMAN\nMENFQKVEKIGEGTYGVVYK').invalid[0]!.message).toMatch(/looks like FASTA/);
  });
});
