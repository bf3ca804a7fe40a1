import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchChildErrorsDocument,
  BatchMsaDocument,
  JobMsaDocument,
  SubmitBatchDocument,
  SubmitPredictionDocument,
  type SubmitBatchInput,
} from '../../schema/__generated__/graphql.js';
import { startFakeMsaServer, type FakeMsaServer } from '../support/fake-msa-server.js';
import { CDK2_SEQUENCE, ligands } from '../support/inputs.js';
import { startTestServer, type TestServer } from '../support/server.js';

// A BOLTZ2 screen needs its target's MSA once: the dispatcher fetches it from the MSA server
// (or stores the upload) as a file of the batch before any shard is sent. No worker runs
// here: the test reads what the dispatcher stored and queued.

const boltzBatch = (n: number, extra: Partial<SubmitBatchInput> = {}): SubmitBatchInput => ({
  model: 'BOLTZ2',
  name: 'CDK2 screen',
  protein: { name: 'CDK2', sequence: CDK2_SEQUENCE },
  ligands: ligands(n),
  ...extra,
});

async function download(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return response.text();
}

describe('the MSA of a BOLTZ2 target', () => {
  let msa: FakeMsaServer;
  let server: TestServer;

  async function start(options: Parameters<typeof startFakeMsaServer>[0] = {}) {
    msa = await startFakeMsaServer(options);
    server = await startTestServer({
      OMTX_MSA_SERVER_URL: msa.url,
      OMTX_MSA_POLL_SECONDS: '0.01',
      // A 300 s shard limit fits 4 ligands: (0.8 × 300 − 40 s load) / 50 s.
      OMTX_BOLTZ_SHARD_TIME_LIMIT_SECONDS: '300',
    });
  }
  afterEach(async () => {
    await server?.close();
    await msa?.close();
  });

  it('is searched once for a whole screen, stored as the batch’s file, and only then are the shards sent', async () => {
    await start({ runningPolls: 3 });
    const submitted = await server.request(SubmitBatchDocument, { input: boltzBatch(10) });
    expect(submitted.errors).toBeUndefined();
    const batch = submitted.data!.submitBatch.batch;
    // The search is still running: nothing is sent yet.
    expect(batch.progress).toMatchObject({ total: 10, pending: 10, queued: 0 });

    await server.app.services.msaStage.idle();
    const { data } = await server.request(BatchMsaDocument, { id: batch.id });
    expect(data!.batch!.progress).toMatchObject({ pending: 0, queued: 10 });
    expect(msa.count('submit')).toBe(1);
    expect(msa.sequences()).toEqual([CDK2_SEQUENCE]);
    expect(await server.app.queue.depth()).toBe(3); // 10 ligands in shards of 4

    const file = data!.batch!.msa!;
    expect(file).toMatchObject({ name: 'A.csv', contentType: 'text/csv' });
    const rows = (await download(file.url)).split('\n');
    expect(rows.slice(0, 2)).toEqual(['key,sequence', `-1,${CDK2_SEQUENCE}`]);
    expect(file.sizeBytes).toBe(Buffer.byteLength(rows.join('\n')));
  });

  it('of a single prediction is its own, stored under the job', async () => {
    await start();
    const { data, errors } = await server.request(SubmitPredictionDocument, {
      input: { model: 'BOLTZ2', protein: { sequence: CDK2_SEQUENCE }, ligand: ligands(1)[0]! },
    });
    expect(errors).toBeUndefined();
    expect(data!.submitPrediction.job.status).toBe('PENDING');
    await server.app.services.msaStage.idle();
    const job = (await server.request(JobMsaDocument, { id: data!.submitPrediction.job.id })).data!.job!;
    expect(job.status).toBe('QUEUED');
    expect(job.msa!.name).toBe('A.csv');
    expect(msa.count('submit')).toBe(1);
  });

  it('uploaded by the user is kept as the batch’s file and the server is never asked', async () => {
    await start();
    const upload = `>query\n${CDK2_SEQUENCE}\n>homolog\n${CDK2_SEQUENCE.replace(/^MENF/, '--NF')}\n`;
    const { data } = await server.request(SubmitBatchDocument, {
      input: boltzBatch(3, { protein: { sequence: CDK2_SEQUENCE, msa: { format: 'A3M', content: upload } } }),
    });
    const batch = data!.submitBatch.batch;
    expect(batch.progress).toMatchObject({ pending: 0, queued: 3 });
    const file = (await server.request(BatchMsaDocument, { id: batch.id })).data!.batch!.msa!;
    expect(file.name).toBe('A.a3m');
    expect(await download(file.url)).toBe(upload);
    expect(msa.requests).toHaveLength(0);
  });

  it('is left out in single-sequence mode, chosen with useMsaServer: false', async () => {
    await start();
    const { data } = await server.request(SubmitBatchDocument, { input: boltzBatch(2, { parameters: { useMsaServer: false } }) });
    const batch = data!.submitBatch.batch;
    expect(batch.progress).toMatchObject({ queued: 2 });
    expect((await server.request(BatchMsaDocument, { id: batch.id })).data!.batch!.msa).toBeNull();
    expect(msa.requests).toHaveLength(0);
  });

  it('refused by the server for this sequence fails every child at once, saying why', async () => {
    await start({ outcome: 'ERROR' });
    const { data } = await server.request(SubmitBatchDocument, { input: boltzBatch(5) });
    await server.app.services.msaStage.idle();
    const batch = (await server.request(BatchChildErrorsDocument, { id: data!.submitBatch.batch.id })).data!.batch!;
    expect(batch.status).toBe('FAILED');
    const errors = batch.jobs.edges.map((e) => e.node.error);
    expect(errors).toHaveLength(5);
    for (const error of errors) {
      expect(error).toMatchObject({ code: 'MSA_FAILED', retryable: false });
      expect(error!.message).toMatch(/^the MSA search failed: .*sequence/);
    }
    expect(await server.app.queue.depth()).toBe(0);
  });

  it('not reachable for now leaves the children PENDING for the reaper, with no MSA file and nothing sent', async () => {
    await start({ httpFailures: { submit: { status: 503, times: 1_000 } } });
    const { data } = await server.request(SubmitBatchDocument, { input: boltzBatch(4) });
    await server.app.services.msaStage.idle();
    const batch = (await server.request(BatchMsaDocument, { id: data!.submitBatch.batch.id })).data!.batch!;
    expect(batch.progress).toMatchObject({ pending: 4, queued: 0, failed: 0 });
    expect(batch.msa).toBeNull();
    expect(await server.app.queue.depth()).toBe(0);
  });
});

describe('a BOLTZ2 submission without an MSA source', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('is refused when no MSA server is configured, naming the field and what to do, and writes nothing', async () => {
    const { data, errors } = await server.request(SubmitBatchDocument, { input: boltzBatch(3) });
    expect(data).toBeNull();
    expect(errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(errors![0]!.extensions!.invalid).toEqual([
      {
        path: ['input', 'protein', 'msa'],
        message: expect.stringMatching(/upload one in input\.protein\.msa .*useMsaServer to false/),
      },
    ]);
    expect((await server.app.jobs.countJobsByStatus()).PENDING).toBe(0);
  });

  it('is refused with an uploaded MSA of another protein', async () => {
    const upload = `>query\n${CDK2_SEQUENCE.slice(1)}\n`;
    const { errors } = await server.request(SubmitBatchDocument, {
      input: boltzBatch(2, { protein: { sequence: CDK2_SEQUENCE, msa: { format: 'A3M', content: upload } } }),
    });
    expect(errors![0]!.extensions!.invalid).toEqual([
      {
        path: ['input', 'protein', 'msa', 'content'],
        message: `must be the MSA of input.protein.sequence: its first sequence has ${CDK2_SEQUENCE.length - 1} residues, the protein ${CDK2_SEQUENCE.length}`,
      },
    ]);
  });
});
