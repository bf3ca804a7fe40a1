import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubmitBatchInput } from '../../schema/__generated__/graphql.js';
import { FIXTURES, LIGANDS } from '../support/inputs.js';
import {
  cheapVinaBatch,
  killLeftoverProcesses,
  makeDataDir,
  removeDataDir,
  startOmtxApi,
  storedArtifacts,
  submitBatch,
  waitForBatchEnd,
  type Child,
  type OmtxApi,
} from '../support/omtx-process.js';

// Inputs that pass the api's checks but that Vina or Open Babel cannot use, through the real
// processes: each job fails at once (not retried) with a message a chemist can act on, and a
// per-ligand problem leaves the rest of the batch to complete.

let api: OmtxApi;
let dataDir: string;

beforeAll(async () => {
  dataDir = makeDataDir();
  api = await startOmtxApi(dataDir, { OMTX_SHARD_SIZE: '4' });
});

afterAll(async () => {
  await api?.stop();
  await killLeftoverProcesses();
  removeDataDir(dataDir);
});

/** The cheap 1IEP batch with another protein (receptor and/or pocket). */
function withProtein(name: string, n: number, protein: Partial<SubmitBatchInput['protein']>): SubmitBatchInput {
  const input = cheapVinaBatch(name, n);
  return { ...input, protein: { ...input.protein, ...protein } };
}

/** Every job FAILED with `code`, not retryable, after one attempt; the batch FAILED. */
async function expectAllFailed(batchId: string, n: number, code: string): Promise<Child[]> {
  const { batch, jobs } = await waitForBatchEnd(api, batchId);
  expect(batch.status).toBe('FAILED');
  expect(batch.progress).toMatchObject({ total: n, pending: 0, queued: 0, running: 0, completed: 0, failed: n, cancelled: 0 });
  for (const job of jobs) {
    expect(job.status).toBe('FAILED');
    expect(job.attempts).toBe(1);
    expect(job.error).toMatchObject({ code, retryable: false });
    expect(job.result).toBeNull();
  }
  return jobs;
}

/** 1IEP's receptor with the AutoDock type of its first ten atoms replaced by `Zz`, which no force field has. */
function receptorWithUnknownAtomTypes(): string {
  const receptor = readFileSync(`${FIXTURES}vina/1iep/1iep_receptor.pdbqt`, 'utf8');
  let changed = 0;
  return receptor
    .split('\n')
    .map((line) => (line.startsWith('ATOM') && changed++ < 10 ? `${line.slice(0, 77).padEnd(77)}Zz` : line))
    .join('\n');
}

/** A PDB of crystallographic waters only: well-formed records, no protein. */
function watersOnlyPdb(): string {
  const lines = [0, 1, 2].map(
    (i) =>
      `HETATM${String(i + 1).padStart(5)}  O   HOH A${String(501 + i).padStart(4)}    ` +
      `${(15 + i).toFixed(3).padStart(8)}${(53.9).toFixed(3).padStart(8)}${(16.9).toFixed(3).padStart(8)}  1.00 20.00           O  `,
  );
  return `${lines.join('\n')}\nEND\n`;
}

/** Imatinib as a rigid PDBQT, as some viewers export it: atoms with charges and types, no torsion tree. */
function ligandPdbqtWithoutTorsionTree(): string {
  return readFileSync(`${FIXTURES}vina/1iep/1iep_ligand.pdbqt`, 'utf8')
    .split('\n')
    .filter((line) => !/^(ROOT|ENDROOT|BRANCH|ENDBRANCH|TORSDOF)\b/.test(line))
    .join('\n');
}

/**
 * Icosane-1,2,…,20-icosol: 19 rotatable bonds for RDKit (the api's limit is 32), but each
 * hydroxyl hydrogen is a torsion in Open Babel's PDBQT as well: 39, more than Vina's tree takes.
 */
const POLYOL = `OC${'C(O)'.repeat(18)}CO`;

describe('inputs the api accepts but the runner cannot use', () => {
  it('fails every job of a batch whose receptor PDBQT Vina cannot parse, naming the receptor and the bad atom type', async () => {
    const batchId = await submitBatch(
      api,
      withProtein('unknown atom types', 2, { structure: { format: 'PDBQT', content: receptorWithUnknownAtomTypes() } }),
    );
    for (const job of await expectAllFailed(batchId, 2, 'RECEPTOR_INVALID')) {
      expect(job.error!.message).toMatch(/^Vina could not read the receptor: /);
      expect(job.error!.message).toMatch(/Atom type Zz is not a valid AutoDock type/);
    }
  }, 120_000);

  it('fails every job of a batch whose PDB receptor holds only waters, saying it has no protein atoms', async () => {
    const batchId = await submitBatch(
      api,
      withProtein('waters only', 2, { structure: { format: 'PDB', content: watersOnlyPdb() } }),
    );
    for (const job of await expectAllFailed(batchId, 2, 'RECEPTOR_INVALID')) {
      expect(job.error!.message).toMatch(/receptor PDB has no protein ATOM records/);
      expect(job.error!.message).toMatch(/waters/);
    }
  }, 120_000);

  it('fails every job of a batch whose pocket is far from the protein, with where the receptor is', async () => {
    const batchId = await submitBatch(
      api,
      withProtein('empty pocket', 2, { pocket: { center: [200, 200, 200], size: [16, 16, 16] } }),
    );
    for (const job of await expectAllFailed(batchId, 2, 'POCKET_EMPTY')) {
      expect(job.error!.message).toMatch(/pocket box \(center \(200, 200, 200\), size 16 × 16 × 16 Å\) has no receptor atom/);
      expect(job.error!.message).toMatch(/check the pocket center\/size: the receptor spans x .* Å/);
    }
    // Nothing was docked: no result files, only what the run logged.
    for (const names of storedArtifacts(dataDir, batchId).values()) expect(names).not.toContain('results.json');
  }, 120_000);

  it('fails only the ligands Vina cannot dock and completes the rest of the batch', async () => {
    const input = cheapVinaBatch('mixed', 2);
    const [aspirin, paracetamol] = input.ligands;
    const batchId = await submitBatch(api, {
      ...input,
      ligands: [
        aspirin!,
        { name: 'icosane-icosol', smiles: POLYOL },
        {
          name: 'rigid imatinib',
          smiles: LIGANDS[0]!.smiles,
          structure: { format: 'PDBQT', content: ligandPdbqtWithoutTorsionTree() },
        },
        paracetamol!,
      ],
    });
    const { batch, jobs } = await waitForBatchEnd(api, batchId);
    expect(batch.status).toBe('COMPLETED');
    expect(batch.progress).toMatchObject({ total: 4, pending: 0, queued: 0, running: 0, completed: 2, failed: 2, cancelled: 0 });
    expect(jobs.map((j) => j.status)).toEqual(['COMPLETED', 'FAILED', 'FAILED', 'COMPLETED']);

    const [, polyol, rigid] = jobs;
    expect(polyol!.ligand.rotatableBonds).toBeLessThanOrEqual(32); // what the api accepted
    expect(polyol!.error).toMatchObject({ code: 'TOO_MANY_TORSIONS', retryable: false });
    expect(polyol!.error!.message).toMatch(
      /the ligand has \d+ rotatable bonds; Vina searches at most 32: dock a smaller or more rigid molecule/,
    );
    expect(rigid!.error).toMatchObject({ code: 'LIGAND_INVALID', retryable: false });
    expect(rigid!.error!.message).toMatch(
      /the ligand PDBQT has no torsion tree \(ROOT … ENDROOT and TORSDOF\); prepare it as a ligand/,
    );
    for (const job of jobs) expect(job.attempts).toBe(1);
    for (const job of [jobs[0]!, jobs[3]!]) {
      expect(job.error).toBeNull();
      expect(job.result!.affinity!.value).toBeLessThan(-0.5);
    }
  }, 120_000);
});
