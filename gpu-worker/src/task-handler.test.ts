import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLocalAdapters, type LocalAdapters } from '../../src/adapters/local/open-local-adapters.js';
import { buildBatch } from '../../src/ports/testing/records.js';
import { CLOUD_RUN_PRICES, L4_INSTANCE } from '../../src/domain/cost.js';
import { handleTask, type TaskHandlerDeps } from './task-handler.js';
import { RunnerRegistry } from './runners/registry.js';
import type { LigandOutcome, LigandReport, ModelRunner, ShardInput } from './runners/runner.js';

/** A model that scores each ligand at once: the task handler is what these tests exercise. */
class ScoringRunner implements ModelRunner {
  readonly name = 'BOLTZ2' as const;
  readonly accelerator = 'CPU' as const;
  readonly needs = { proteinSequence: true, proteinStructure: false, pocket: false, ligandStructure: false };
  readonly ran: string[] = [];
  async checkAvailable() {
    return { available: true as const, versions: {} };
  }
  async *runShard(shard: ShardInput): AsyncIterable<LigandReport> {
    for (const job of shard.jobs) {
      this.ran.push(job.id);
      const result = { affinity: null, confidence: null, poses: [], provenance: {} };
      yield {
        jobId: job.id,
        outcome: { ok: true, result, files: [{ name: 'results.json', contentType: 'application/json', body: '{}' }] },
      };
    }
  }
}

/**
 * A model on a clock the test moves: it loads for `loadSeconds`, then spends
 * `secondsPerLigand` on each ligand, and reports each one as it ends or all at the end (as
 * `boltz predict` over a directory does). `failFirst` makes each job's first attempt a
 * transient fault.
 */
class TimedRunner implements ModelRunner {
  readonly name = 'BOLTZ2' as const;
  readonly accelerator: 'CPU' | 'GPU';
  readonly needs = { proteinSequence: true, proteinStructure: false, pocket: false, ligandStructure: false };
  readonly #tried = new Set<string>();
  constructor(
    private readonly clock: { ms: number },
    private readonly timing: {
      loadSeconds: number;
      secondsPerLigand: number;
      reports: 'EACH' | 'AT_END';
      failFirst?: boolean;
      accelerator?: 'CPU' | 'GPU';
    },
  ) {
    this.accelerator = timing.accelerator ?? 'GPU';
  }
  async checkAvailable() {
    return { available: true as const, versions: {} };
  }
  async *runShard(shard: ShardInput): AsyncIterable<LigandReport> {
    this.clock.ms += this.timing.loadSeconds * 1000;
    const reports: LigandReport[] = [];
    for (const job of shard.jobs) {
      this.clock.ms += this.timing.secondsPerLigand * 1000;
      const transient = this.timing.failFirst === true && !this.#tried.has(job.id);
      this.#tried.add(job.id);
      const outcome: LigandOutcome = transient
        ? {
            ok: false,
            error: { code: 'INTERRUPTED', message: 'GPU reset', retryable: true },
            runtimeSeconds: this.timing.secondsPerLigand,
          }
        : {
            ok: true,
            result: { affinity: null, confidence: null, poses: [], provenance: {} },
            files: [],
            runtimeSeconds: this.timing.secondsPerLigand,
          };
      if (this.timing.reports === 'EACH') yield { jobId: job.id, outcome };
      else reports.push({ jobId: job.id, outcome });
    }
    yield* reports;
  }
}

describe('handleTask', () => {
  let dir: string;
  let local: LocalAdapters;
  let runner: ScoringRunner;
  let deps: TaskHandlerDeps;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omtx-task-'));
    local = openLocalAdapters(dir, 'http://127.0.0.1:1');
    runner = new ScoringRunner();
    deps = {
      jobs: local.jobs,
      blobs: local.blobs,
      runners: new RunnerRegistry([runner]),
      clock: () => new Date(),
      leaseMs: 60_000,
      jobMaxAttempts: 3,
      shutdown: new AbortController().signal,
      billing: { instance: { gpus: 0, vcpus: 2, memoryGib: 4 }, prices: CLOUD_RUN_PRICES },
      log: () => {},
    };
  });
  afterEach(async () => {
    await local.jobs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the children maxConcurrent allows, answers 503 for the rest, and runs those on the next delivery', async () => {
    const { batch, children } = buildBatch(4, { maxConcurrent: 2 });
    await local.jobs.createBatch(batch, children);
    const payload = { jobIds: children.map((c) => c.id), batchId: batch.id };

    const first = await handleTask(deps, payload);
    expect(first).toMatchObject({ status: 503, settled: 2, retrying: 2 });
    const second = await handleTask(deps, payload);
    expect(second).toMatchObject({ status: 200, settled: 2, skipped: 2 });

    const [stored] = await local.jobs.getBatches([batch.id]);
    expect(stored!.counts).toMatchObject({ completed: 4, running: 0, queued: 0, pending: 0 });
    expect(runner.ran.sort()).toEqual(children.map((c) => c.id).sort());
  });

  it('gives a job the user retried a fresh attempt budget', async () => {
    const { batch, children } = buildBatch(1);
    await local.jobs.createBatch(batch, children);
    const id = children[0]!.id;
    // Three attempts die (their leases expire), the fourth is refused as exhausted.
    for (let attempt = 1; attempt <= 3; attempt++) {
      await local.jobs.claim(id, new Date(), 1);
      await local.jobs.requeueExpired(new Date(Date.now() + 10), 10);
    }
    expect(await handleTask(deps, { jobIds: [id], batchId: batch.id })).toMatchObject({ status: 200, settled: 0 });
    expect((await local.jobs.getJobs([id]))[0]).toMatchObject({ status: 'FAILED', error: { code: 'ATTEMPTS_EXHAUSTED' } });

    await local.jobs.retryFailed(batch.owner, batch.id, new Date());
    expect(await handleTask(deps, { jobIds: [id], batchId: batch.id })).toMatchObject({ status: 200, settled: 1 });
    expect((await local.jobs.getJobs([id]))[0]).toMatchObject({ status: 'COMPLETED', attempts: 5 });
  });

  it('treats a second delivery of finished jobs as a no-op answered 200', async () => {
    const { batch, children } = buildBatch(2);
    await local.jobs.createBatch(batch, children);
    const payload = { jobIds: children.map((c) => c.id), batchId: batch.id };
    expect(await handleTask(deps, payload)).toMatchObject({ status: 200, settled: 2 });
    expect(await handleTask(deps, payload)).toMatchObject({ status: 200, settled: 0, skipped: 2 });
    expect(runner.ran).toHaveLength(2);
  });

  describe('usage', () => {
    const clock = { ms: Date.parse('2025-03-01T12:00:00Z') };
    const onL4 = (runner: ModelRunner): TaskHandlerDeps => ({
      ...deps,
      runners: new RunnerRegistry([runner]),
      clock: () => new Date(clock.ms),
      billing: { instance: L4_INSTANCE, prices: CLOUD_RUN_PRICES },
    });
    const seconds = (s: number) => ({ runtimeMs: s * 1000, gpuMs: s * 1000, costNanoUsd: s * 290_700 });

    it.each(['EACH', 'AT_END'] as const)(
      'bills each job its own GPU time and the last one the model load, reports %s; the batch sums the shard',
      async (reports) => {
        const { batch, children } = buildBatch(3);
        await local.jobs.createBatch(batch, children);
        const timed = new TimedRunner(clock, { loadSeconds: 30, secondsPerLigand: 10, reports });

        const outcome = await handleTask(onL4(timed), { jobIds: children.map((c) => c.id), batchId: batch.id });

        expect(outcome).toMatchObject({ status: 200, settled: 3 });
        const jobs = await local.jobs.getJobs(children.map((c) => c.id));
        expect(jobs.map((j) => j!.usage)).toEqual([seconds(10), seconds(10), seconds(40)]);
        // 60 s of an L4 instance at $0.0002907 a second.
        expect((await local.jobs.getBatches([batch.id]))[0]!.usage).toEqual({
          runtimeMs: 60_000,
          gpuMs: 60_000,
          costNanoUsd: 17_442_000,
        });
      },
    );

    it('sums a job over the attempt that failed and the retry that completed it', async () => {
      const { batch, children } = buildBatch(1);
      await local.jobs.createBatch(batch, children);
      const timed = new TimedRunner(clock, { loadSeconds: 5, secondsPerLigand: 20, reports: 'EACH', failFirst: true });
      const payload = { jobIds: [children[0]!.id], batchId: batch.id };

      expect(await handleTask(onL4(timed), payload)).toMatchObject({ status: 503, retrying: 1 });
      expect((await local.jobs.getJobs([children[0]!.id]))[0]).toMatchObject({ status: 'QUEUED', usage: seconds(25) });
      expect(await handleTask(onL4(timed), payload)).toMatchObject({ status: 200, settled: 1 });

      expect((await local.jobs.getJobs([children[0]!.id]))[0]).toMatchObject({ status: 'COMPLETED', usage: seconds(50) });
      expect((await local.jobs.getBatches([batch.id]))[0]!.usage).toEqual(seconds(50));
    });

    it('records no GPU time for a CPU model, and prices the vCPUs and memory of a machine without GPU', async () => {
      const { batch, children } = buildBatch(2);
      await local.jobs.createBatch(batch, children);
      const timed = new TimedRunner(clock, { loadSeconds: 0, secondsPerLigand: 3, reports: 'EACH', accelerator: 'CPU' });
      const cpuBox = { instance: { gpus: 0, vcpus: 2, memoryGib: 4 }, prices: CLOUD_RUN_PRICES };

      await handleTask({ ...onL4(timed), billing: cpuBox }, { jobIds: children.map((c) => c.id), batchId: batch.id });

      // 2 vCPU + 4 GiB: $0.000044 a second, 132,000 nano-dollars for 3 s.
      const cpu3s = { runtimeMs: 3_000, gpuMs: 0, costNanoUsd: 132_000 };
      expect((await local.jobs.getJobs(children.map((c) => c.id))).map((j) => j!.usage)).toEqual([cpu3s, cpu3s]);
      expect((await local.jobs.getBatches([batch.id]))[0]!.usage).toEqual({ runtimeMs: 6_000, gpuMs: 0, costNanoUsd: 264_000 });
    });
  });
});
