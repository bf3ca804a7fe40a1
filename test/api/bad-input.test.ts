import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type GraphqlResponse, type TestServer } from '../support/server.js';
import { LIGANDS, RECEPTOR_1IEP, ligands, vinaProtein } from '../support/inputs.js';

/**
 * Wrong input, field by field, through real HTTP: every field of the submission inputs gets a
 * wrong value and the answer is BAD_USER_INPUT naming it — in `extensions.invalid` when the
 * domain validation finds it, in the message when GraphQL's own coercion does (a wrong type).
 * A rejected submission writes nothing. No answer here is ever INTERNAL or a 5xx.
 *
 * Operations are plain strings: their variables are meant to be wrong, which typed documents
 * would not let us write.
 */

type Path = (string | number)[];
type Invalid = { path: Path; message: string };
type Vars = Record<string, unknown>;
type ListPage = { nodes: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

const SUBMIT_PREDICTION = /* GraphQL */ `
  mutation ($input: SubmitPredictionInput!) {
    submitPrediction(input: $input) {
      job {
        id
        status
      }
    }
  }
`;
const SUBMIT_BATCH = /* GraphQL */ `
  mutation ($input: SubmitBatchInput!) {
    submitBatch(input: $input) {
      batch {
        id
        progress {
          total
        }
        jobs(first: 100) {
          nodes {
            batchIndex
            name
            ligand {
              smiles
            }
          }
        }
      }
      skipped {
        index
        name
        smiles
        problems {
          path
          message
        }
      }
    }
  }
`;

/** The first residues of CDK2: a valid sequence for BOLTZ2. */
const SEQUENCE = 'MENFQKVEKIGEGTYGVVYKARNKLTGEVVALKKIRLDTETEGVPSTAIREISLLKE';
const ASPIRIN = LIGANDS[1]!.smiles;
/** A real mmCIF header and atom_site loop: valid CIF, but not a receptor VINA reads. */
const CIF = 'data_1IEP\nloop_\n_atom_site.group_PDB\n_atom_site.id\nATOM 1\n';
/** The 1IEP receptor as plain PDB: the PDBQT charge and AutoDock type columns cut off. */
const PLAIN_PDB = RECEPTOR_1IEP.split('\n')
  .map((line) => (/^(ATOM|HETATM)/.test(line) ? line.slice(0, 54) : line))
  .join('\n');
const LONG_NAME = 'n'.repeat(201);

const vinaPrediction = (): Vars => ({ model: 'VINA', protein: vinaProtein(), ligand: { smiles: ASPIRIN, name: 'aspirin' } });
const boltzPrediction = (): Vars => ({
  model: 'BOLTZ2',
  protein: { name: 'CDK2', sequence: SEQUENCE },
  ligand: { smiles: ASPIRIN },
  parameters: { useMsaServer: false },
});
const vinaBatch = (): Vars => ({ model: 'VINA', name: 'screen', protein: vinaProtein(), ligands: ligands(20) });
const boltzBatch = (): Vars => ({
  model: 'BOLTZ2',
  name: 'screen',
  protein: { sequence: SEQUENCE },
  ligands: ligands(5),
  parameters: { useMsaServer: false },
});

/** A copy of `base` with each `[path, value]` set (`undefined` removes the key). */
function withValues(base: Vars, changes: [Path, unknown][]): Vars {
  const copy = structuredClone(base);
  for (const [path, value] of changes) {
    let target = copy as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
    const last = path[path.length - 1]!;
    if (value === undefined) delete target[last];
    else target[last] = value;
  }
  return copy;
}

interface DomainCase {
  /** What is wrong, as the test name says it. */
  what: string;
  base: () => Vars;
  change: [Path, unknown][];
  /** Every path `extensions.invalid` lists, from `"input"`, and nothing else. */
  paths: Path[];
}

interface CoercionCase {
  what: string;
  base: () => Vars;
  change: [Path, unknown][];
  /** The dotted path GraphQL's message names, e.g. `input.model`. */
  named: string;
}

const p = (...path: Path): Path => ['input', ...path];

/** `value` at `at` in `base()`; `extensions.invalid` lists `paths` (default: `at` itself) and nothing else. */
const field = (what: string, base: () => Vars, at: Path, value: unknown, paths: Path[] = [p(...at)]): DomainCase => ({
  what,
  base,
  change: [[at, value]],
  paths,
});

/** `value` at `at` in `base()`; GraphQL's message names `named` (default: `input.` and `at` dotted). */
const coerce = (what: string, base: () => Vars, at: Path, value: unknown, named = ['input', ...at].join('.')): CoercionCase => ({
  what,
  base,
  change: [[at, value]],
  named,
});

const PREDICTION_CASES: DomainCase[] = [
  field('a job name over 200 characters', vinaPrediction, ['name'], LONG_NAME),
  field('a protein name over 200 characters', vinaPrediction, ['protein', 'name'], LONG_NAME),
  field('a sequence under 10 residues', boltzPrediction, ['protein', 'sequence'], 'MKTAY'),
  field('a sequence over 5000 residues', boltzPrediction, ['protein', 'sequence'], 'A'.repeat(5001)),
  field('a sequence with a non-amino-acid code', boltzPrediction, ['protein', 'sequence'], `${SEQUENCE}B1`),
  field('a FASTA record for a sequence', boltzPrediction, ['protein', 'sequence'], `>sp|P24941|CDK2\n${SEQUENCE}`),
  field('a malformed sequence VINA does not read', vinaPrediction, ['protein', 'sequence'], 'hello world!'),
  field('empty structure content', vinaPrediction, ['protein', 'structure', 'content'], '  '),
  field('structure content that is no PDBQT', vinaPrediction, ['protein', 'structure', 'content'], 'hello'),
  field('a plain PDB labelled PDBQT', vinaPrediction, ['protein', 'structure', 'content'], PLAIN_PDB),
  field('a pocket center of 2 values', vinaPrediction, ['protein', 'pocket', 'center'], [1, 2]),
  field('a pocket size of 4 values', vinaPrediction, ['protein', 'pocket', 'size'], [20, 20, 20, 20]),
  field('a pocket edge of 0 Å', vinaPrediction, ['protein', 'pocket', 'size'], [0, 20, 20], [p('protein', 'pocket', 'size', 0)]),
  field(
    'a pocket edge over 30 Å',
    vinaPrediction,
    ['protein', 'pocket', 'size'],
    [20, 20, 31],
    [p('protein', 'pocket', 'size', 2)],
  ),
  field('an empty SMILES', vinaPrediction, ['ligand', 'smiles'], ''),
  field('a SMILES RDKit cannot read', vinaPrediction, ['ligand', 'smiles'], 'C1CC('),
  field('a SMILES with spaces', vinaPrediction, ['ligand', 'smiles'], 'CCO CCN'),
  field('a salt of two fragments', vinaPrediction, ['ligand', 'smiles'], 'CC(=O)[O-].[Na+]'),
  field('a SMILES over 1000 characters', vinaPrediction, ['ligand', 'smiles'], 'C'.repeat(1001)),
  field('a ligand over 128 heavy atoms', boltzPrediction, ['ligand', 'smiles'], 'C'.repeat(129)),
  field('a ligand over 32 rotatable bonds for VINA', vinaPrediction, ['ligand', 'smiles'], 'C'.repeat(40)),
  field('a ligand name over 200 characters', vinaPrediction, ['ligand', 'name'], LONG_NAME),
  field('a prepared ligand as PDB for VINA', vinaPrediction, ['ligand', 'structure'], { format: 'PDB', content: PLAIN_PDB }, [
    p('ligand', 'structure', 'format'),
  ]),
  field(
    'a prepared ligand whose SDF content is a SMILES',
    vinaPrediction,
    ['ligand', 'structure'],
    { format: 'SDF', content: ASPIRIN },
    [p('ligand', 'structure', 'content')],
  ),
  // What each model needs (model-needs.ts).
  field('BOLTZ2 without a sequence', boltzPrediction, ['protein'], vinaProtein(), [p('protein', 'sequence')]),
  field('VINA without a structure', vinaPrediction, ['protein', 'structure'], undefined),
  field('VINA without a pocket', vinaPrediction, ['protein', 'pocket'], undefined),
  field('VINA with only a sequence', vinaPrediction, ['protein'], { sequence: SEQUENCE }, [
    p('protein', 'structure'),
    p('protein', 'pocket'),
  ]),
  field('VINA with a CIF receptor', vinaPrediction, ['protein', 'structure'], { format: 'CIF', content: CIF }, [
    p('protein', 'structure', 'format'),
  ]),
  field('a prepared ligand structure on BOLTZ2', boltzPrediction, ['ligand', 'structure'], {
    format: 'PDBQT',
    content: RECEPTOR_1IEP,
  }),
  // Each parameter just outside its range (limits.ts), low and high.
  ...(
    [
      ['seed', -1, null],
      ['diffusionSamples', 0, 26],
      ['samplingSteps', 0, 1001],
      ['recyclingSteps', -1, 21],
      ['exhaustiveness', 0, 65],
      ['numPoses', 0, 21],
    ] as const
  ).flatMap(([key, low, high]) =>
    [low, high]
      .filter((value) => value !== null)
      .map((value) =>
        field(`parameters.${key} = ${value}`, vinaPrediction, ['parameters'], { [key]: value }, [p('parameters', key)]),
      ),
  ),
];

const BATCH_CASES: DomainCase[] = [
  field('an empty batch name', vinaBatch, ['name'], ''),
  field('a blank batch name', vinaBatch, ['name'], '   '),
  field('a batch name over 200 characters', vinaBatch, ['name'], LONG_NAME),
  field('maxConcurrent 0', vinaBatch, ['maxConcurrent'], 0),
  field('maxConcurrent over 1000', vinaBatch, ['maxConcurrent'], 1001),
  field('no ligands', vinaBatch, ['ligands'], []),
  field('ligand 17 with a bad SMILES', vinaBatch, ['ligands', 17, 'smiles'], 'C1CC('),
  field('ligand 3 with a name over 200 characters', vinaBatch, ['ligands', 3, 'name'], LONG_NAME),
  field('ligand 2 with a structure on BOLTZ2', boltzBatch, ['ligands', 2, 'structure'], { format: 'SDF', content: 'x' }),
  field('BOLTZ2 batch without a sequence', boltzBatch, ['protein'], vinaProtein(), [p('protein', 'sequence')]),
  field('VINA batch without a pocket', vinaBatch, ['protein', 'pocket'], undefined),
  field('VINA batch with a CIF receptor', vinaBatch, ['protein', 'structure'], { format: 'CIF', content: CIF }, [
    p('protein', 'structure', 'format'),
  ]),
  field('a batch pocket edge of -5 Å', vinaBatch, ['protein', 'pocket', 'size', 1], -5),
  field('a batch parameter out of range', vinaBatch, ['parameters'], { exhaustiveness: 0 }, [p('parameters', 'exhaustiveness')]),
];

/** Wrong types: GraphQL's own coercion refuses them before any resolver runs. */
const PREDICTION_COERCION_CASES: CoercionCase[] = [
  coerce('an unknown model', vinaPrediction, ['model'], 'GPT4'),
  coerce('a null protein', vinaPrediction, ['protein'], null),
  coerce('a null ligand', vinaPrediction, ['ligand'], null),
  coerce('a number for a name', vinaPrediction, ['name'], 42),
  coerce('a number for an idempotency key', vinaPrediction, ['idempotencyKey'], 42),
  coerce('a number for a protein name', vinaPrediction, ['protein', 'name'], 42),
  coerce('a list for a sequence', boltzPrediction, ['protein', 'sequence'], ['M', 'K']),
  coerce('an unknown structure format', vinaPrediction, ['protein', 'structure', 'format'], 'MOL2'),
  coerce('a null structure content', vinaPrediction, ['protein', 'structure', 'content'], null),
  coerce('a string in a pocket center', vinaPrediction, ['protein', 'pocket', 'center'], ['x', 1, 2]),
  coerce('a null pocket size', vinaPrediction, ['protein', 'pocket', 'size'], null),
  coerce('a number for a SMILES', vinaPrediction, ['ligand', 'smiles'], 42),
  coerce('a missing SMILES', vinaPrediction, ['ligand', 'smiles'], undefined, 'smiles'),
  coerce('a number for a ligand name', vinaPrediction, ['ligand', 'name'], 42),
  coerce(
    'an unknown ligand structure format',
    vinaPrediction,
    ['ligand', 'structure'],
    { format: 'MOL2', content: 'x' },
    'input.ligand.structure.format',
  ),
  coerce('a string for parameters', vinaPrediction, ['parameters'], 'fast'),
  coerce('a string for useMsaServer', boltzPrediction, ['parameters'], { useMsaServer: 'yes' }, 'input.parameters.useMsaServer'),
  coerce('a number for useMsaServer', boltzPrediction, ['parameters'], { useMsaServer: 1 }, 'input.parameters.useMsaServer'),
  coerce('a fractional seed', vinaPrediction, ['parameters'], { seed: 1.5 }, 'input.parameters.seed'),
  coerce('a seed beyond 32 bits', vinaPrediction, ['parameters'], { seed: 2 ** 31 }, 'input.parameters.seed'),
  coerce('a string for numPoses', vinaPrediction, ['parameters'], { numPoses: '9' }, 'input.parameters.numPoses'),
  coerce('an unknown input field', vinaPrediction, ['priority'], 'HIGH', 'priority'),
];

const BATCH_COERCION_CASES: CoercionCase[] = [
  coerce('an unknown onInvalidLigand policy', vinaBatch, ['onInvalidLigand'], 'MAYBE'),
  coerce('a null batch name', vinaBatch, ['name'], null),
  coerce('a null ligand list', vinaBatch, ['ligands'], null),
  coerce('a null ligand in the list', vinaBatch, ['ligands', 4], null, 'input.ligands[4]'),
  coerce('a string for maxConcurrent', vinaBatch, ['maxConcurrent'], '4'),
  coerce('an unknown model', vinaBatch, ['model'], 'AF3'),
  coerce('a number for an idempotency key', vinaBatch, ['idempotencyKey'], 7),
];

describe('bad input over HTTP', () => {
  let server: TestServer;
  /** Every response of this file, checked in afterAll as well as one by one. */
  const responses: GraphqlResponse<unknown>[] = [];

  // No worker: accepted jobs stay QUEUED, which is all these tests need.
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    const codes = responses.flatMap((r) => r.errors ?? []).map((e) => e.extensions?.code);
    expect(codes).not.toContain('INTERNAL');
    expect(responses.filter((r) => r.status >= 500)).toEqual([]);
    await server.close();
  });

  /** Sends an operation; never a 5xx, never INTERNAL. */
  async function send<R = Record<string, unknown>>(query: string, variables?: Vars): Promise<GraphqlResponse<R>> {
    const response = await server.request<R, Vars | undefined>(query, variables);
    responses.push(response);
    expect(response.status, JSON.stringify(response.errors)).toBeLessThan(500);
    expect(response.errors?.map((e) => e.extensions?.code) ?? []).not.toContain('INTERNAL');
    return response;
  }

  /** The one BAD_USER_INPUT error of a response, with its `extensions.invalid`. */
  function badUserInput(response: GraphqlResponse<unknown>): { message: string; invalid: Invalid[] } {
    expect(response.errors, 'an error').toHaveLength(1);
    const [error] = response.errors!;
    expect(error!.extensions?.code, error!.message).toBe('BAD_USER_INPUT');
    return { message: error!.message, invalid: (error!.extensions?.invalid ?? []) as Invalid[] };
  }

  /** What a rejection must leave unchanged: every list a client can read, and the queue. */
  async function snapshot() {
    const count = async (query: string) => {
      let total = 0;
      let after: string | null = null;
      for (;;) {
        const response: GraphqlResponse<Record<string, ListPage>> = await send(query, { after });
        const page = Object.values(response.data!)[0]!;
        total += page.nodes.length;
        if (!page.pageInfo.hasNextPage) return total;
        after = page.pageInfo.endCursor;
      }
    };
    const page = 'nodes { id } pageInfo { hasNextPage endCursor }';
    return {
      individual: await count(`query ($after: String) { jobs(first: 100, after: $after) { ${page} } }`),
      children: await count(
        `query ($after: String) { jobs(first: 100, after: $after, filter: { kind: BATCH_CHILD }) { ${page} } }`,
      ),
      batches: await count(`query ($after: String) { batches(first: 100, after: $after) { ${page} } }`),
      queueDepth: await server.app.queue.depth(),
    };
  }

  /** Runs `reject` and checks that it changed nothing a client (or the queue) can see. */
  async function expectNothingWritten(reject: () => Promise<void>) {
    const before = await snapshot();
    await reject();
    expect(await snapshot()).toEqual(before);
  }

  const sorted = (paths: Path[]) => paths.map((path) => JSON.stringify(path)).sort();

  describe('submitPrediction refuses a wrong value and names the field', () => {
    it.each(PREDICTION_CASES)('$what', async ({ base, change, paths }) => {
      // The unchanged input is valid: only the change can cause the rejection.
      await expectNothingWritten(async () => {
        const { invalid } = badUserInput(await send(SUBMIT_PREDICTION, { input: withValues(base(), change) }));
        expect(new Set(sorted(invalid.map((i) => i.path)))).toEqual(new Set(sorted(paths)));
        for (const problem of invalid) expect(problem.message).toMatch(/\w/);
      });
    });

    it.each(PREDICTION_COERCION_CASES)('$what (GraphQL coercion)', async ({ base, change, named }) => {
      await expectNothingWritten(async () => {
        const response = await send(SUBMIT_PREDICTION, { input: withValues(base(), change) });
        const { message } = badUserInput(response);
        expect(message).toContain(named);
        expect(response.data ?? null).toBeNull();
      });
    });
  });

  describe('submitBatch refuses a wrong value and names the field', () => {
    it.each(BATCH_CASES)('$what', async ({ base, change, paths }) => {
      await expectNothingWritten(async () => {
        const { invalid } = badUserInput(await send(SUBMIT_BATCH, { input: withValues(base(), change) }));
        expect(new Set(sorted(invalid.map((i) => i.path)))).toEqual(new Set(sorted(paths)));
      });
    });

    it.each(BATCH_COERCION_CASES)('$what (GraphQL coercion)', async ({ base, change, named }) => {
      await expectNothingWritten(async () => {
        const { message } = badUserInput(await send(SUBMIT_BATCH, { input: withValues(base(), change) }));
        expect(message).toContain(named);
      });
    });
  });

  it('the valid inputs the cases start from are accepted', async () => {
    for (const input of [vinaPrediction(), boltzPrediction()]) {
      const { errors, data } = await send<{ submitPrediction: { job: { status: string } } }>(SUBMIT_PREDICTION, { input });
      expect(errors).toBeUndefined();
      // The payload may show the job just before the queue marks it QUEUED.
      expect(['PENDING', 'QUEUED']).toContain(data!.submitPrediction.job.status);
    }
    for (const input of [vinaBatch(), boltzBatch()]) {
      const { errors } = await send(SUBMIT_BATCH, { input });
      expect(errors).toBeUndefined();
    }
  });

  it('names ligand 17 of a batch by its exact path', async () => {
    const input = withValues(vinaBatch(), [[['ligands', 17, 'smiles'], 'not-a-smiles((']]);
    const { invalid } = badUserInput(await send(SUBMIT_BATCH, { input }));
    expect(invalid).toEqual([
      { path: ['input', 'ligands', 17, 'smiles'], message: expect.stringContaining('not a valid SMILES') },
    ]);
  });

  it('lists every problem of a prediction at once', async () => {
    await expectNothingWritten(async () => {
      const input = withValues(boltzPrediction(), [
        [['name'], LONG_NAME],
        [['protein', 'sequence'], 'MK7'],
        [['ligand', 'smiles'], 'C1CC('],
        [['ligand', 'structure'], { format: 'SDF', content: 'x' }],
        [['parameters'], { seed: -1, diffusionSamples: 0, samplingSteps: 0, recyclingSteps: 99 }],
      ]);
      const { message, invalid } = badUserInput(await send(SUBMIT_PREDICTION, { input }));
      expect(sorted(invalid.map((i) => i.path))).toEqual(
        sorted([
          p('name'),
          p('protein', 'sequence'),
          p('protein', 'sequence'), // too short and a non-amino-acid code: two problems
          p('ligand', 'smiles'),
          p('ligand', 'structure'),
          p('parameters', 'seed'),
          p('parameters', 'diffusionSamples'),
          p('parameters', 'samplingSteps'),
          p('parameters', 'recyclingSteps'),
        ]),
      );
      expect(message).toContain(`${invalid.length} problems`);
    });
  });

  it('lists every problem of a batch at once, ligands included, and writes nothing', async () => {
    await expectNothingWritten(async () => {
      const input = withValues(vinaBatch(), [
        [['name'], ''],
        [['maxConcurrent'], 0],
        [['protein', 'pocket'], undefined],
        [['parameters'], { numPoses: 0 }],
        [['ligands', 3, 'smiles'], 'CC(=O)[O-].[Na+]'],
        [['ligands', 17, 'smiles'], 'C1CC('],
        [['ligands', 19, 'name'], LONG_NAME],
      ]);
      const { invalid } = badUserInput(await send(SUBMIT_BATCH, { input }));
      expect(sorted(invalid.map((i) => i.path))).toEqual(
        sorted([
          p('name'),
          p('maxConcurrent'),
          p('protein', 'pocket'),
          p('parameters', 'numPoses'),
          p('ligands', 3, 'smiles'),
          p('ligands', 17, 'smiles'),
          p('ligands', 19, 'name'),
        ]),
      );
    });
  });

  it('does not spend an idempotency key on a rejected submission', async () => {
    const key = `rejected-first-${Date.now()}`;
    const bad = withValues(vinaPrediction(), [
      [['idempotencyKey'], key],
      [['ligand', 'smiles'], ''],
    ]);
    badUserInput(await send(SUBMIT_PREDICTION, { input: bad }));
    const good = withValues(vinaPrediction(), [[['idempotencyKey'], key]]);
    const before = await snapshot();
    const accepted = await send<{ submitPrediction: { job: { id: string } } }>(SUBMIT_PREDICTION, { input: good });
    expect(accepted.errors).toBeUndefined();
    expect((await snapshot()).individual).toBe(before.individual + 1);
  });

  describe('onInvalidLigand: SKIP', () => {
    interface Submitted {
      submitBatch: {
        batch: {
          id: string;
          progress: { total: number };
          jobs: { nodes: { batchIndex: number; name: string; ligand: { smiles: string } }[] };
        };
        skipped: { index: number; name: string | null; smiles: string; problems: { path: string[]; message: string }[] }[];
      };
    }

    it('submits the valid ligands with their original index and returns the skipped ones', async () => {
      const input = {
        ...vinaBatch(),
        onInvalidLigand: 'SKIP',
        ligands: [
          { name: 'ok-0', smiles: ASPIRIN },
          { name: 'salt', smiles: 'CC(=O)[O-].[Na+]' },
          { name: 'ok-2', smiles: LIGANDS[2]!.smiles },
          { smiles: 'C1CC(' },
          { name: 'ok-4', smiles: LIGANDS[4]!.smiles },
          { name: LONG_NAME, smiles: ASPIRIN },
        ],
      };
      const before = await snapshot();
      const { data, errors } = await send<Submitted>(SUBMIT_BATCH, { input });
      expect(errors).toBeUndefined();
      const { batch, skipped } = data!.submitBatch;

      expect(skipped.map(({ index, name, smiles }) => ({ index, name, smiles }))).toEqual([
        { index: 1, name: 'salt', smiles: 'CC(=O)[O-].[Na+]' },
        { index: 3, name: null, smiles: 'C1CC(' },
        { index: 5, name: LONG_NAME, smiles: ASPIRIN },
      ]);
      expect(skipped[0]!.problems).toEqual([
        { path: ['input', 'ligands', '1', 'smiles'], message: expect.stringContaining('fragments') },
      ]);
      expect(skipped[1]!.problems).toEqual([
        { path: ['input', 'ligands', '3', 'smiles'], message: expect.stringContaining('SMILES') },
      ]);
      expect(skipped[2]!.problems).toEqual([
        { path: ['input', 'ligands', '5', 'name'], message: expect.stringContaining('200') },
      ]);

      expect(batch.progress.total).toBe(3);
      expect(batch.jobs.nodes.map((j) => [j.batchIndex, j.name])).toEqual([
        [0, 'ok-0'],
        [2, 'ok-2'],
        [4, 'ok-4'],
      ]);
      const after = await snapshot();
      expect(after.children).toBe(before.children + 3);
      expect(after.batches).toBe(before.batches + 1);
    });

    it('still refuses problems of the batch itself, and writes nothing', async () => {
      await expectNothingWritten(async () => {
        const input = withValues({ ...vinaBatch(), onInvalidLigand: 'SKIP' }, [
          [['name'], ''],
          [['ligands', 2, 'smiles'], 'C1CC('],
        ]);
        const { invalid } = badUserInput(await send(SUBMIT_BATCH, { input }));
        // The bad ligand would only have been skipped; the batch-level problem rejects.
        expect(invalid.map((i) => i.path)).toContainEqual(p('name'));
      });
    });

    it('refuses a batch where no ligand is valid, and writes nothing', async () => {
      await expectNothingWritten(async () => {
        const input = { ...vinaBatch(), onInvalidLigand: 'SKIP', ligands: [{ smiles: 'C1CC(' }, { smiles: '' }] };
        const { invalid } = badUserInput(await send(SUBMIT_BATCH, { input }));
        expect(sorted(invalid.map((i) => i.path))).toEqual(
          sorted([p('ligands'), p('ligands', 0, 'smiles'), p('ligands', 1, 'smiles')]),
        );
      });
    });
  });

  describe('connection arguments', () => {
    let batchId: string;

    beforeAll(async () => {
      const { data } = await send<{ submitBatch: { batch: { id: string } } }>(SUBMIT_BATCH, { input: vinaBatch() });
      batchId = data!.submitBatch.batch.id;
      await send(SUBMIT_PREDICTION, { input: vinaPrediction() });
    });

    const LISTS = [
      { list: 'jobs', query: (args: string) => `{ jobs(${args}) { nodes { id } } }` },
      { list: 'batches', query: (args: string) => `{ batches(${args}) { nodes { id } } }` },
      { list: 'Batch.jobs', query: (args: string) => `query ($id: ID!) { batch(id: $id) { jobs(${args}) { nodes { id } } } }` },
    ];
    const ARGS: { args: string; named: string }[] = [
      { args: 'first: 101', named: 'first' },
      { args: 'last: 101', named: 'last' },
      { args: 'first: -1', named: 'first' },
      { args: 'last: -1', named: 'last' },
      { args: 'first: 1, last: 1', named: 'last' },
      { args: 'after: "garbage!!"', named: 'after' },
      { args: 'after: "bm90LWpzb24"', named: 'after' }, // base64url of "not-json"
      { args: 'after: "WzFd"', named: 'after' }, // base64url of "[1]": JSON, but no cursor
      { args: 'last: 2, before: "%%%"', named: 'before' },
    ];
    const MATRIX = LISTS.flatMap((l) => ARGS.map((a) => ({ ...l, ...a })));

    it.each(MATRIX)('$list($args) is BAD_USER_INPUT naming $named', async ({ query, args, named }) => {
      const response = await send(query(args), { id: batchId });
      const { invalid } = badUserInput(response);
      expect(invalid.map((i) => i.path)).toContainEqual([named]);
    });

    it('refuses a cursor issued by another list, naming `after`', async () => {
      const batches = await send<{ batches: { edges: { cursor: string }[] } }>('{ batches(first: 1) { edges { cursor } } }');
      const batchCursor = batches.data!.batches.edges[0]!.cursor;
      const children = await send<{ batch: { jobs: { edges: { cursor: string }[] } } }>(
        'query ($id: ID!) { batch(id: $id) { jobs(first: 1) { edges { cursor } } } }',
        { id: batchId },
      );
      const childCursor = children.data!.batch.jobs.edges[0]!.cursor;

      const intoJobs = await send('query ($after: String) { jobs(first: 5, after: $after) { nodes { id } } }', {
        after: batchCursor,
      });
      expect(badUserInput(intoJobs).invalid).toEqual([{ path: ['after'], message: expect.stringContaining('another list') }]);

      // Same list of children, another ordering: an index cursor means nothing by affinity.
      const otherOrder = await send(
        'query ($id: ID!, $after: String) { batch(id: $id) { jobs(first: 5, after: $after, orderBy: { field: AFFINITY }) { nodes { id } } } }',
        { id: batchId, after: childCursor },
      );
      expect(badUserInput(otherOrder).invalid.map((i) => i.path)).toEqual([['after']]);
    });

    it.each([0, -1, 101])('refuses summary.top(n: %i)', async (n) => {
      const response = await send('query ($id: ID!, $n: Int!) { batch(id: $id) { summary { top(n: $n) { id } } } }', {
        id: batchId,
        n,
      });
      expect(badUserInput(response).invalid.map((i) => i.path)).toEqual([['n']]);
    });

    it('accepts the bounds themselves: first: 0, first: 100, top(n: 100)', async () => {
      for (const query of [
        '{ jobs(first: 0) { nodes { id } } }',
        '{ jobs(first: 100) { nodes { id } } }',
        '{ batches(last: 100) { nodes { id } } }',
      ]) {
        expect((await send(query)).errors).toBeUndefined();
      }
      const top = await send('query ($id: ID!) { batch(id: $id) { summary { top(n: 100) { id } } } }', { id: batchId });
      expect(top.errors).toBeUndefined();
    });
  });

  describe('unknown ids', () => {
    it('answers null for an unknown job or batch', async () => {
      const { data, errors } = await send<{ job: null; batch: null; node: null }>(
        '{ job(id: "no-such-job") { id } batch(id: "no-such-batch") { id } node(id: "nothing") { id } }',
      );
      expect(errors).toBeUndefined();
      expect(data).toEqual({ job: null, batch: null, node: null });
    });

    it.each([
      ['cancelJob', 'mutation { cancelJob(id: "no-such-job") { id } }'],
      ['cancelBatch', 'mutation { cancelBatch(id: "no-such-batch") { id } }'],
      ['retryFailedJobs', 'mutation { retryFailedJobs(batchId: "no-such-batch") { id } }'],
    ])('answers NOT_FOUND to %s of an unknown id', async (_name, mutation) => {
      const { errors } = await send(mutation);
      expect(errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    });
  });
});
