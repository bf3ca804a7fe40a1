import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteJobStore } from './sqlite-job-store.js';
import { quotaWindows } from '../../domain/quota.js';
import { T0, buildBatch, buildJob, buildResult } from '../../ports/testing/records.js';

const dir = mkdtempSync(join(tmpdir(), 'omtx-sqlite-quota-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SqliteJobStore quota counts', () => {
  it("reads only an index for each count, never the table: a user's or an organization's", async () => {
    const executed: string[] = [];
    const db = new Database(join(dir, 'plans.sqlite'), { verbose: (sql) => executed.push(String(sql)) });
    const store = new SqliteJobStore(db);
    try {
      for (let i = 0; i < 20; i++) {
        await store.createJob(buildJob({ organizationId: i % 2 ? 'lab-a' : null, estimatedGpuMs: i % 3 ? 1_000 : 0 }));
      }
      const { batch, children } = buildBatch(30, { organizationId: 'lab-a' });
      for (const child of children) child.estimatedGpuMs = 2_000;
      await store.createBatch(batch, children);
      // Some finished with recorded GPU time, some failed and retried: every case the GPU sum reads.
      await store.markQueued(
        children.map((c) => c.id),
        T0,
      );
      for (const [i, child] of children.slice(0, 10).entries()) {
        const claim = await store.claim(child.id, T0, 60_000);
        if (!claim.claimed) throw new Error(claim.reason);
        const usage = { runtimeMs: 3_000, gpuMs: 3_000, costNanoUsd: 1 };
        if (i % 2) await store.complete(child.id, claim.attempt, buildResult(), T0, usage);
        else await store.fail(child.id, claim.attempt, { code: 'X', message: 'x', retryable: false }, T0, usage);
      }
      await store.retryFailed('alice', batch.id, T0);
      db.exec('ANALYZE');
      executed.length = 0;
      await store.quotaUsage({ kind: 'user', id: 'alice' }, quotaWindows(T0));
      await store.quotaUsage({ kind: 'organization', id: 'lab-a' }, quotaWindows(T0));
      const counts = executed.filter((sql) => /^SELECT (count|coalesce)/.test(sql));
      expect(counts).toHaveLength(6);
      const plans = counts.map((sql) => ({
        sql,
        plan: (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail),
      }));
      const notIndexOnly = plans.filter(({ plan }) =>
        plan.some((d) => /^(SCAN|SEARCH) /.test(d) && !/USING COVERING INDEX/.test(d)),
      );
      expect(notIndexOnly).toEqual([]);
      // The GPU sums read the month's GPU indexes (a wider index would also be covering).
      const gpuPlans = plans.filter(({ sql }) => sql.includes('usage_gpu_ms')).map(({ plan }) => plan.join('; '));
      expect(gpuPlans).toEqual([
        expect.stringMatching(/USING COVERING INDEX jobs_gpu_month_by_owner/),
        expect.stringMatching(/USING COVERING INDEX jobs_gpu_month_by_org/),
      ]);
    } finally {
      await store.close();
    }
  });
});
