import { beforeAll, describe, expect, it } from 'vitest';
import { loadRdkitChemistry } from '../../chemistry/rdkit-chemistry.js';
import type { Chemistry } from '../chemistry.js';
import type { PredictionDraft } from '../submission.js';
import { validatePrediction } from './prediction.js';
import { DEFAULT_RULES, type SubmissionRules } from './rules.js';

let chem: Chemistry;
beforeAll(async () => {
  chem = await loadRdkitChemistry();
});

const SEQUENCE = 'MENFQKVEKIGEGTYGVVYKA';
/** A query and two homologs: one with a lower-case insertion and gaps, aligned to the query's 21 columns. */
const A3M = `>101\n${SEQUENCE}\n>UniRef100_A0A1\nMENFQKVEKIGEGTYGvvVVYKA\n>UniRef100_B2\n--NFQKIEKIGEGTYGVVY--\n`;
const CSV = `key,sequence\n-1,${SEQUENCE}\n-1,--NFQKIEKIGEGTYGVVY--\n`;
const WITH_SERVER: SubmissionRules = { ...DEFAULT_RULES, msaServer: true };
const NO_SERVER: SubmissionRules = DEFAULT_RULES;

function draft(protein: PredictionDraft['protein'], parameters: PredictionDraft['parameters'] = {}): PredictionDraft {
  return { model: 'BOLTZ2', protein: { sequence: SEQUENCE, ...protein }, ligand: { smiles: 'c1ccccc1O' }, parameters };
}

const problemsOf = (d: PredictionDraft, rules = NO_SERVER) =>
  validatePrediction(chem, d, rules).invalid.map((p) => [p.path.join('.'), p.message]);

describe('an uploaded MSA', () => {
  it('is kept as given, A3M or CSV, and recorded as not using the MSA server', () => {
    for (const msa of [
      { format: 'A3M' as const, content: A3M },
      { format: 'CSV' as const, content: CSV },
    ]) {
      const { invalid, value } = validatePrediction(chem, draft({ msa }), NO_SERVER);
      expect(invalid).toEqual([]);
      expect(value!.protein.msa).toEqual(msa);
      expect(value!.parameters.useMsaServer).toBe(false);
    }
  });

  it('must be the MSA of the protein: a different first sequence is named with the residue', () => {
    const other = A3M.replace(`>101\n${SEQUENCE}`, `>101\n${SEQUENCE.replace('KIGEG', 'KIGAG')}`);
    expect(problemsOf(draft({ msa: { format: 'A3M', content: other } }))).toEqual([
      [
        'input.protein.msa.content',
        'must be the MSA of input.protein.sequence: its first sequence differs at residue 12 (A instead of E)',
      ],
    ]);
    expect(problemsOf(draft({ msa: { format: 'CSV', content: `key,sequence\n-1,MENFQ\n` } }))).toEqual([
      [
        'input.protein.msa.content',
        'must be the MSA of input.protein.sequence: its first sequence has 5 residues, the protein 21',
      ],
    ]);
  });

  it('must align every row to the query, counting upper-case letters and gaps', () => {
    const misaligned = `${A3M}>short\nMENFQKVEK\n>bad\nMENFQKVEKIGEGTYGVVY*A\n`;
    expect(problemsOf(draft({ msa: { format: 'A3M', content: misaligned } }))).toEqual([
      ['input.protein.msa.content', 'has sequences with characters other than letters and "-" (line 10)'],
      [
        'input.protein.msa.content',
        'has rows that do not align to the query\'s 21 columns (line 8 has 9); count upper-case letters and "-"',
      ],
    ]);
  });

  it('as A3M has each sequence on one line, as Boltz reads it, and may hold # lines anywhere', () => {
    const wrapped = `>101\n${SEQUENCE.slice(0, 10)}\n${SEQUENCE.slice(10)}\n`;
    expect(problemsOf(draft({ msa: { format: 'A3M', content: wrapped } }))).toEqual([
      [
        'input.protein.msa.content',
        'has sequence lines without their own ">name" line (line 3): Boltz reads each line as a sequence, so write each sequence on one line',
      ],
    ]);
    const commented = `#21\t1\n${A3M.replace('>UniRef100_B2', '# a note\n>UniRef100_B2')}`;
    expect(problemsOf(draft({ msa: { format: 'A3M', content: commented } }))).toEqual([]);
  });

  it('as CSV needs Boltz’s header and integer keys', () => {
    expect(problemsOf(draft({ msa: { format: 'CSV', content: `sequence\n${SEQUENCE}\n` } }))).toEqual([
      ['input.protein.msa.content', 'must start with the header "key,sequence" (Boltz\'s MSA CSV), got "sequence"'],
    ]);
    expect(problemsOf(draft({ msa: { format: 'CSV', content: `key,sequence\n-1,${SEQUENCE}\nx,AAA\n1,A,B\n` } }))).toEqual([
      ['input.protein.msa.content', 'has 2 malformed rows (line 3, line 4); each row is "<integer key>,<sequence>"'],
    ]);
  });

  it('refuses an empty file, an unknown format, and an MSA on a VINA job', () => {
    expect(problemsOf(draft({ msa: { format: 'A3M', content: '  ' } }))).toEqual([
      ['input.protein.msa.content', 'must not be empty'],
    ]);
    expect(problemsOf(draft({ msa: { format: 'FASTA' as never, content: A3M } }))).toEqual([
      ['input.protein.msa.format', 'must be one of A3M, CSV, got "FASTA"'],
    ]);
    const vina = { ...draft({ msa: { format: 'A3M', content: A3M } }), model: 'VINA' as const };
    expect(problemsOf(vina)).toContainEqual(['input.protein.msa', 'is read only by BOLTZ2; VINA would ignore it']);
  });

  it('conflicts with asking for the MSA server', () => {
    expect(problemsOf(draft({ msa: { format: 'A3M', content: A3M } }, { useMsaServer: true }), WITH_SERVER)).toEqual([
      ['input.parameters.useMsaServer', 'must not be true when input.protein.msa is given: the uploaded MSA is used'],
    ]);
  });
});

describe('where a BOLTZ2 MSA comes from', () => {
  it('is the MSA server when one is configured and the user leaves it unset', () => {
    const { invalid, value } = validatePrediction(chem, draft({}), WITH_SERVER);
    expect(invalid).toEqual([]);
    expect(value!.parameters.useMsaServer).toBe(true);
    expect(value!.protein.msa).toBeNull();
  });

  it('is single-sequence mode only when chosen with useMsaServer: false', () => {
    const { invalid, value } = validatePrediction(chem, draft({}, { useMsaServer: false }), NO_SERVER);
    expect(invalid).toEqual([]);
    expect(value!.parameters.useMsaServer).toBe(false);
  });

  it('without a server, asks the user to upload one or choose single-sequence mode, at the field they left out', () => {
    const message =
      'BOLTZ2 needs the protein’s MSA and this deployment has no MSA server (OMTX_MSA_SERVER_URL): upload one in ' +
      'input.protein.msa (A3M or Boltz CSV), or set input.parameters.useMsaServer to false for single-sequence mode (less accurate)';
    expect(problemsOf(draft({}))).toEqual([['input.protein.msa', message]]);
    expect(problemsOf(draft({}, { useMsaServer: true }))).toEqual([['input.parameters.useMsaServer', message]]);
  });
});

describe('the BOLTZ2 residue limit', () => {
  it('refuses a protein longer than the deployment’s GPU takes, and accepts one at the limit', () => {
    const rules = { ...DEFAULT_RULES, boltzMaxResidues: 21, msaServer: true };
    expect(problemsOf(draft({}), rules)).toEqual([]);
    expect(problemsOf(draft({ sequence: `${SEQUENCE}A` }), rules)).toEqual([
      [
        'input.protein.sequence',
        "has 22 residues; BOLTZ2 on this deployment's GPU takes at most 21 (a longer chain runs out of GPU memory): predict a domain instead",
      ],
    ]);
  });
});

describe('a BOLTZ2 ligand and the shard time limit', () => {
  it('is refused when one ligand would not fit the share of the limit a shard plans for', () => {
    // 25 samples × 1,000 steps is 125 times the default diffusion: past 0.8 × 1,500 s on an L4 for a kinase domain.
    const domain = 'M' + 'A'.repeat(299);
    const heavy = draft({ sequence: domain }, { useMsaServer: false, diffusionSamples: 25, samplingSteps: 1000 });
    const [[path, message]] = problemsOf(heavy) as [[string, string]];
    expect(path).toBe('input.parameters');
    expect(message).toMatch(
      /^one ligand with these parameters against 300 residues takes about 1640 s .* more than the 1200 s a shard may plan for/,
    );
    expect(problemsOf(draft({ sequence: domain }, { useMsaServer: false, diffusionSamples: 5 }))).toEqual([]);
    expect(problemsOf(heavy, { ...DEFAULT_RULES, boltzShardTimeLimitSeconds: 86_400 })).toEqual([]);
  });
});
