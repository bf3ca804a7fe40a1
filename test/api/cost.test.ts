import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  BatchUsageDocument,
  EstimateBatchCostDocument,
  type EstimateBatchCostInput,
} from '../../schema/__generated__/graphql.js';
import { at, buildBatch, buildResult } from '../../src/ports/testing/records.js';

/**
 * Cost over real HTTP: `estimateBatchCost` against figures worked out by hand from the
 * documented model (50 s a BOLTZ2 ligand on an L4, 40 s load per shard, $0.0002907 a second),
 * and the usage the store records, read back as `Job.usage` and `Batch.usage`.
 */
describe('cost', () => {
  let server: TestServer;

  beforeAll(async () => {
    // A 4-vCPU, 8 GiB VINA instance: $0.000088 a second. BOLTZ2 keeps the L4 defaults.
    server = await startTestServer({ OMTX_VINA_INSTANCE_VCPUS: '4', OMTX_VINA_INSTANCE_MEMORY_GIB: '8' });
  });
  afterAll(async () => {
    await server.close();
  });

  const estimate = async (input: EstimateBatchCostInput) => {
    const answer = await server.request(EstimateBatchCostDocument, { input });
    expect(answer.errors).toBeUndefined();
    return answer.data!.estimateBatchCost;
  };

  it('prices 1,000 BOLTZ2 ligands at the defaults: 44 shards of 23, 51,760 L4-seconds, $15.05', async () => {
    const e = await estimate({ model: 'BOLTZ2', ligandCount: 1_000 });

    expect(e).toMatchObject({ model: 'BOLTZ2', ligands: 1_000, shardSize: 23, shards: 44, shardSeconds: 1_190 });
    expect(e.billedSeconds).toBeCloseTo(51_760, 6);
    expect(e.gpuSeconds).toBeCloseTo(51_760, 6);
    expect(e.costUsd).toBeCloseTo(15.046632, 6);
    expect(e.costPerLigandUsd).toBeCloseTo(0.015046632, 9);
    expect(e.gpuBusyFraction).toBeCloseTo(50_000 / 51_760, 9);
    expect(e.assumptions).toEqual({
      instance: { gpus: 1, vcpus: 4, memoryGib: 16 },
      prices: { gpuPerSecond: 0.0001867, vcpuPerSecond: 0.000018, gibPerSecond: 0.000002 },
      instancePricePerSecondUsd: expect.closeTo(0.0002907, 12),
      secondsPerLigand: 50,
      modelLoadSeconds: 40,
      proteinLength: 300,
      shardTimeLimitSeconds: 1_500,
    });
  });

  it('shrinks the shards for a heavier run: 5 samples on 600 residues take 325 s a ligand, 3 to a shard', async () => {
    const e = await estimate({ model: 'BOLTZ2', ligandCount: 10, proteinLength: 600, parameters: { diffusionSamples: 5 } });

    expect(e).toMatchObject({ shardSize: 3, shards: 4, assumptions: { secondsPerLigand: 325, proteinLength: 600 } });
    expect(e.billedSeconds).toBeCloseTo(4 * 40 + 10 * 325, 6);
  });

  it('puts a screen smaller than a shard in one shard', async () => {
    const e = await estimate({ model: 'BOLTZ2', ligandCount: 5 });
    expect(e).toMatchObject({ shardSize: 5, shards: 1, shardSeconds: 290, billedSeconds: 290 });
  });

  it('prices VINA on its CPU instance: 100 ligands × 11.25 vCPU-s / 4 vCPUs = 281.25 s, no GPU', async () => {
    const e = await estimate({ model: 'VINA', ligandCount: 100 });

    expect(e).toMatchObject({ model: 'VINA', shardSize: 4, shards: 25, gpuSeconds: 0, gpuBusyFraction: null });
    expect(e.billedSeconds).toBeCloseTo(281.25, 9);
    expect(e.costUsd).toBeCloseTo(0.02475, 9);
    expect(e.assumptions).toMatchObject({
      instance: { gpus: 0, vcpus: 4, memoryGib: 8 },
      modelLoadSeconds: 0,
      proteinLength: null,
      shardTimeLimitSeconds: null,
    });
  });

  it('answers BAD_USER_INPUT naming every wrong field at once', async () => {
    const answer = await server.request(EstimateBatchCostDocument, {
      input: { model: 'BOLTZ2', ligandCount: 0, proteinLength: 2_000, parameters: { samplingSteps: 0, exhaustiveness: 65 } },
    });

    expect(answer.status).toBe(200);
    expect(answer.data).toBeNull();
    expect(answer.errors).toHaveLength(1);
    const error = answer.errors![0]!;
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    const invalid = error.extensions?.invalid as { path: (string | number)[]; message: string }[];
    expect(invalid.map((p) => p.path)).toEqual([
      ['input', 'ligandCount'],
      ['input', 'proteinLength'],
      ['input', 'parameters', 'samplingSteps'],
      ['input', 'parameters', 'exhaustiveness'],
    ]);
    expect(invalid[1]!.message).toBe('must be between 10 and 1300, got 2000');
  });

  it('accepts a VINA protein up to 5,000 residues, the sequence limit, since Vina does not read it', async () => {
    expect((await estimate({ model: 'VINA', ligandCount: 1, proteinLength: 5_000 })).assumptions.proteinLength).toBeNull();
  });

  it("shows each child's usage and the batch's exact sums, in seconds and dollars", async () => {
    const { batch, children } = buildBatch(3, { owner: 'local' });
    const jobs = server.app.jobs;
    await jobs.createBatch(batch, children);
    const [first, second] = children.map((c) => c.id) as [string, string];
    await jobs.markQueued([first, second], at(0));
    const a = (await jobs.claim(first, at(1), 60_000)) as { attempt: number };
    await jobs.release(first, a.attempt, { code: 'INTERRUPTED', message: 'x', retryable: true }, at(2), l4(12.5));
    const b = (await jobs.claim(first, at(3), 60_000)) as { attempt: number };
    await jobs.complete(first, b.attempt, buildResult(), at(4), l4(50));
    const c = (await jobs.claim(second, at(5), 60_000)) as { attempt: number };
    await jobs.fail(second, c.attempt, { code: 'BAD', message: 'x', retryable: false }, at(6), l4(0.25));

    const answer = await server.request(BatchUsageDocument, { id: batch.id });

    expect(answer.errors).toBeUndefined();
    const read = answer.data!.batch!;
    // 62.75 L4-seconds: 18,241,425 nano-dollars.
    expect(read.usage).toEqual({ runtimeSeconds: 62.75, gpuSeconds: 62.75, costUsd: 0.018241425 });
    expect(read.jobs.edges.map((e) => e.node.usage)).toEqual([
      { runtimeSeconds: 62.5, gpuSeconds: 62.5, costUsd: 0.01816875 },
      { runtimeSeconds: 0.25, gpuSeconds: 0.25, costUsd: 0.000072675 },
      null,
    ]);
  });
});

/** `seconds` of an L4 instance in the store's units. */
function l4(seconds: number) {
  return { runtimeMs: seconds * 1000, gpuMs: seconds * 1000, costNanoUsd: seconds * 290_700 };
}
