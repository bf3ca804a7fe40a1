import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLocalAdapters, type LocalAdapters } from '../../src/adapters/local/open-local-adapters.js';
import { buildBatch } from '../../src/ports/testing/records.js';
import { handleTask, type TaskHandlerDeps } from './task-handler.js';
import { RunnerRegistry } from './runners/registry.js';
import type { LigandReport, ModelRunner, ShardInput } from './runners/runner.js';

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
});
