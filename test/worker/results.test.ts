import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadRdkitModule } from '../../src/chemistry/rdkit-module.js';
import {
  cheapVinaBatch,
  killLeftoverProcesses,
  makeDataDir,
  removeDataDir,
  startOmtxApi,
  submitBatch,
  waitForBatchEnd,
  type OmtxApi,
} from '../support/omtx-process.js';
import { BatchExportDocument, BatchJobsDocument, type BatchJobsQuery } from '../../schema/__generated__/graphql.js';

// What a chemist takes home from a real Vina screen: ranked children, and exports whose
// rows and poses agree with them.

describe('results of a real VINA screen', () => {
  let api: OmtxApi;
  let dataDir: string;
  let batchId: string;
  let ranked: NonNullable<BatchJobsQuery['batch']>['jobs']['edges'];

  beforeAll(async () => {
    dataDir = makeDataDir();
    api = await startOmtxApi(dataDir, { OMTX_SHARD_SIZE: '2' });
    batchId = await submitBatch(api, cheapVinaBatch('results', 4));
    await waitForBatchEnd(api, batchId, 240_000);
    const { data } = await api.request(BatchJobsDocument, {
      id: batchId,
      first: 10,
      orderBy: { field: 'AFFINITY', direction: 'ASC' },
    });
    ranked = data!.batch!.jobs.edges;
  }, 300_000);
  afterAll(async () => {
    await api?.stop();
    await killLeftoverProcesses();
    removeDataDir(dataDir);
  });

  it('ranks the children by their Vina score, best (lowest) first', () => {
    const scores = ranked.map((e) => e.node.result!.affinity!.value);
    expect(ranked.every((e) => e.node.status === 'COMPLETED')).toBe(true);
    expect(scores).toEqual([...scores].sort((a, b) => a - b));
    expect(ranked[0]!.node.result!.affinity!.unit).toBe('KCAL_PER_MOL');
  });

  it('exports a CSV whose rows follow the ranking', async () => {
    const { data } = await api.request(BatchExportDocument, { id: batchId, format: 'CSV' });
    const csv = await (await fetch(data!.batch!.export!.url)).text();
    const rows = csv.trim().split('\n');
    expect(rows[0]).toBe('rank,index,name,input_smiles,canonical_smiles,affinity,unit,confidence,status,error');
    const names = rows.slice(1).map((r) => r.split(',')[2]);
    expect(names).toEqual(ranked.map((e) => e.node.name));
  });

  it('makes an export again when its file was deleted (the bucket expires exports by age)', async () => {
    const first = (await api.request(BatchExportDocument, { id: batchId, format: 'CSV' })).data!.batch!.export!;
    const csv = await (await fetch(first.url)).text();
    rmSync(join(dataDir, 'blobs', 'objects', 'batches', batchId, first.name));
    const again = (await api.request(BatchExportDocument, { id: batchId, format: 'CSV' })).data!.batch!.export!;
    const response = await fetch(again.url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(csv);
  });

  it('exports the top pose of each child as SDF that RDKit reads, with hydrogens and the score', async () => {
    const { data } = await api.request(BatchExportDocument, { id: batchId, format: 'SDF' });
    const sdf = await (await fetch(data!.batch!.export!.url)).text();
    const records = sdf.split('$$$$\n').filter((r) => r.trim().length > 0);
    expect(records).toHaveLength(ranked.length);
    const rdkit = await loadRdkitModule();
    records.forEach((record, i) => {
      expect(record.split('\n')[0]).toBe(ranked[i]!.node.name);
      expect(record).toContain(`> <affinity_kcal_per_mol>\n${ranked[i]!.node.result!.affinity!.value}\n`);
      const mol = rdkit.get_mol(record);
      expect(mol?.is_valid()).toBe(true);
      expect(record).toMatch(/^\s+-?\d+\.\d+\s+-?\d+\.\d+\s+-?\d+\.\d+ H /m);
      mol?.delete();
    });
  });
});
