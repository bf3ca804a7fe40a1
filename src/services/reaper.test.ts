import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLocalAdapters, type LocalAdapters } from '../adapters/local/open-local-adapters.js';
import { SqliteTaskQueue } from '../adapters/local/sqlite-task-queue.js';
import { at, buildBatch, buildJob } from '../ports/testing/records.js';
import type { ServiceDeps } from './deps.js';
import { reapOnce } from './reaper.js';
import { MsaStage } from './msa-stage.js';
import { DEFAULT_RULES } from '../domain/validation/index.js';
import { unlimited } from '../domain/quota.js';

describe('reapOnce', () => {
  let dir: string;
  let local: LocalAdapters;
  let queue: SqliteTaskQueue;
  let now: Date;
  let deps: ServiceDeps;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omtx-reaper-'));
    local = openLocalAdapters(dir, 'http://127.0.0.1:1');
    // Not started: the test reads what the reaper enqueues.
    queue = new SqliteTaskQueue(local.db, { targetUrl: 'http://127.0.0.1:1/tasks' });
    now = at(0);
    deps = {
      jobs: local.jobs,
      queue,
      chemistry: { parseSmiles: () => null },
      chemistryForBatch: async () => ({ parseSmiles: () => null }),
      clock: () => now,
      newId: () => 'unused',
      shardSize: 4,
      boltzShardTimeLimitSeconds: 1_500,
      blobs: local.blobs,
      msaStage: new MsaStage(local.blobs, null, { onFault: (error) => expect.unreachable(String(error)) }),
      rules: DEFAULT_RULES,
      quotas: { limits: { user: unlimited(), organization: unlimited() }, estimateGpuSeconds: () => 0 },
      webhookUrls: { allowPrivate: false },
    };
  });
  afterEach(async () => {
    await queue.close();
    await local.jobs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends a job left PENDING, a RUNNING job whose lease expired, and a long-QUEUED job round again', async () => {
    const pending = buildJob({ createdAt: at(0) });
    const running = buildJob({ createdAt: at(0) });
    const queued = buildJob({ createdAt: at(0) });
    for (const job of [pending, running, queued]) await local.jobs.createJob(job);
    await local.jobs.markQueued([running.id, queued.id], at(0));
    await local.jobs.claim(running.id, at(0), 1_000);

    now = at(20 * 60_000);
    expect(await reapOnce(deps)).toBe(3);

    const [p, r, q] = await local.jobs.getJobs([pending.id, running.id, queued.id]);
    expect([p!.status, r!.status, q!.status]).toEqual(['QUEUED', 'QUEUED', 'QUEUED']);
    expect(r!.error?.code).toBe('LEASE_EXPIRED');
    expect(await queue.depth()).toBe(3);

    // The next sweep, seconds later, finds the same long-QUEUED job and enqueues nothing new.
    now = at(20 * 60_000 + 5_000);
    await reapOnce(deps);
    expect(await queue.depth()).toBe(3);
  });

  it('fails a job its tasks never got to a worker in a day, but lets children of a throttled batch wait', async () => {
    const lone = buildJob({ createdAt: at(0) });
    await local.jobs.createJob(lone);
    const throttled = buildBatch(2, { createdAt: at(0), maxConcurrent: 1 });
    await local.jobs.createBatch(throttled.batch, throttled.children);
    await local.jobs.markQueued([lone.id, ...throttled.children.map((c) => c.id)], at(0));

    now = at(25 * 3_600_000);
    await reapOnce(deps);

    const [failed, ...waiting] = await local.jobs.getJobs([lone.id, ...throttled.children.map((c) => c.id)]);
    expect(failed!.status).toBe('FAILED');
    expect(failed!.error).toMatchObject({ code: 'DISPATCH_FAILED', retryable: true });
    expect(waiting.map((j) => j!.status)).toEqual(['QUEUED', 'QUEUED']);
    // The waiting children were sent again; the failed job was not.
    expect(await queue.depth()).toBe(1);
  });
});
