import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoltzResultsDocument, type BoltzResultsQuery } from '../../schema/__generated__/graphql.js';
import { loadRdkitChemistry } from '../../src/chemistry/rdkit-chemistry.js';
import {
  FAKE_BOLTZ,
  FIXTURE_PREDICTION,
  fakeCache,
  fixtureAffinityHeads,
  fixtureConfidence,
} from '../../gpu-worker/src/runners/boltz/test-support.js';
import { startFakeMsaServer, type FakeMsaServer } from '../support/fake-msa-server.js';
import { CDK2_LIGAND_SMILES, CDK2_SEQUENCE, LIGANDS } from '../support/inputs.js';
import { dataDirsCleanedAfterAll, startOmtxApi, submitBatch, waitForBatchEnd, type OmtxApi } from '../support/omtx-process.js';

// A BOLTZ2 screen through the whole platform: `omtx serve` (api, dispatcher, worker process),
// the MSA server stand-in, and the stand-in `boltz`, which writes the real CDK2 run's files
// for every input. What comes back must be the fixture's numbers and files.

type Batch = NonNullable<BoltzResultsQuery['batch']>;
type Child = Batch['jobs']['edges'][number]['node'];

describe('a BOLTZ2 screen end to end', () => {
  const dataDir = dataDirsCleanedAfterAll();
  let msa: FakeMsaServer;
  let cache: string;
  let argvFile: string;
  let api: OmtxApi;
  let batch: Batch;
  let rejected: string;

  beforeAll(async () => {
    msa = await startFakeMsaServer({ runningPolls: 1 });
    cache = fakeCache(mkdtempSync(join(tmpdir(), 'omtx-boltz-cache-')));
    argvFile = join(cache, 'argv.jsonl');
    // Boltz reads the canonical SMILES the api wrote into each input.
    rejected = (await loadRdkitChemistry()).parseSmiles(LIGANDS[2]!.smiles)!.canonicalSmiles;
    api = await startOmtxApi(dataDir(), {
      OMTX_MSA_SERVER_URL: msa.url,
      OMTX_MSA_POLL_SECONDS: '0.01',
      OMTX_BOLTZ_BIN: FAKE_BOLTZ,
      BOLTZ_CACHE: cache,
      OMTX_BOLTZ_ACCELERATOR: 'cpu',
      // Read by the api (shards of 4: (0.8 × 300 − 40) / 50) and the worker (its kill limit).
      OMTX_BOLTZ_SHARD_TIME_LIMIT_SECONDS: '300',
      FAKE_BOLTZ_ARGV_FILE: argvFile,
      FAKE_BOLTZ_REJECT_SMILES: rejected,
      FAKE_BOLTZ_SECONDS_PER_INPUT: '0.1',
    });
    const id = await submitBatch(api, {
      model: 'BOLTZ2',
      name: 'CDK2 screen',
      protein: { name: 'CDK2', sequence: CDK2_SEQUENCE },
      ligands: [{ name: '1CKP ligand', smiles: CDK2_LIGAND_SMILES }, ...LIGANDS],
    });
    await waitForBatchEnd(api, id, 120_000);
    batch = (await api.request(BoltzResultsDocument, { id })).data!.batch!;
  }, 180_000);
  afterAll(async () => {
    await api?.stop();
    await msa?.close();
    rmSync(cache, { recursive: true, force: true });
  });

  const completed = (): Child[] => batch.jobs.edges.map((e) => e.node).filter((j) => j.status === 'COMPLETED');

  it('completes every ligand Boltz took and fails the one it skipped, with Boltz’s reason, its log, and no retry', async () => {
    expect(batch.status).toBe('COMPLETED');
    expect(completed()).toHaveLength(5);
    const failed = batch.jobs.edges.map((e) => e.node).filter((j) => j.status === 'FAILED');
    expect(failed.map((j) => j.ligand.canonicalSmiles)).toEqual([rejected]);
    expect(failed[0]!.error).toMatchObject({ code: 'BOLTZ_INPUT_REJECTED', retryable: false });
    const log = await (await fetch(failed[0]!.failureLog!.url)).text();
    expect(log).toContain(`Failed to process`);
    expect(log).toContain(`Failed to compute 3D conformer for ${rejected}`);
    expect(completed().every((j) => j.failureLog === null)).toBe(true);
  });

  it('gives each ligand the fixture’s affinity and confidence, to the last digit, and ΔG from the IC50', () => {
    const affinity = fixtureAffinityHeads();
    const confidence = fixtureConfidence();
    for (const job of completed()) {
      expect(job.result!.affinity).toEqual({ ...affinity, unit: 'LOG10_IC50_UM', kcalPerMol: -1.364 * (6 - affinity.value) });
      expect(job.result!.confidence).toEqual(confidence);
      expect(job.result!.poses).toEqual([{ rank: 1, score: confidence.score }]);
    }
  });

  it('stores Boltz’s files under each job, the structure byte for byte', async () => {
    const job = completed()[0]!;
    expect(job.result!.artifacts.map((a) => a.name).sort()).toEqual(
      ['affinity.json', 'confidence.json', 'log.txt', 'pae.npz', 'pde.npz', 'plddt.npz', 'results.json', 'structure.cif'].sort(),
    );
    expect(job.result!.structure!.name).toBe('structure.cif');
    const cif = Buffer.from(await (await fetch(job.result!.structure!.url)).arrayBuffer());
    expect(cif.equals(readFileSync(join(FIXTURE_PREDICTION, '1ckp_cdk2_model_0.cif')))).toBe(true);
    const pae = job.result!.artifacts.find((a) => a.name === 'pae.npz')!;
    const paeBytes = Buffer.from(await (await fetch(pae.url)).arrayBuffer());
    expect(paeBytes.equals(readFileSync(join(FIXTURE_PREDICTION, 'pae_1ckp_cdk2_model_0.npz')))).toBe(true);
  });

  it('searched the MSA once for the whole screen and ran one boltz process per shard, every ligand pointing at it', async () => {
    expect(msa.count('submit')).toBe(1);
    expect(batch.msa!.name).toBe('A.csv');
    for (const job of completed()) {
      const log = await (await fetch(job.result!.artifacts.find((a) => a.name === 'log.txt')!.url)).text();
      expect(log).toMatch(/^\s+msa: "\/\S+\/A\.csv"$/m);
    }
    const runs = readFileSync(argvFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { argv: string[] })
      // The worker's availability check runs `boltz predict --help` too.
      .filter(({ argv }) => argv.includes('--out_dir'));
    // 6 ligands in shards of 4: two processes, so the weights load twice, not six times.
    expect(runs).toHaveLength(2);
    for (const { argv } of runs) {
      expect(argv[0]).toBe('predict');
      expect(argv).toEqual(expect.arrayContaining(['--accelerator', 'cpu', '--output_format', 'mmcif']));
      expect(argv).not.toContain('--use_msa_server');
    }
  });

  it('records each ligand’s usage, no GPU-seconds on a CPU run, and the batch sums them', () => {
    const jobs = batch.jobs.edges.map((e) => e.node);
    for (const job of jobs) {
      expect(job.usage!.runtimeSeconds).toBeGreaterThan(0);
      expect(job.usage!.gpuSeconds).toBe(0);
      expect(job.usage!.costUsd).toBeGreaterThan(0);
    }
    const sum = (key: 'runtimeSeconds' | 'costUsd') => jobs.reduce((total, j) => total + j.usage![key], 0);
    expect(batch.usage.runtimeSeconds).toBeCloseTo(sum('runtimeSeconds'), 3);
    expect(batch.usage.costUsd).toBeCloseTo(sum('costUsd'), 9);
  });
});
