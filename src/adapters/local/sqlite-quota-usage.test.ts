import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteJobStore } from './sqlite-job-store.js';
import { quotaWindows } from '../../domain/quota.js';
import { T0, buildBatch, buildJob } from '../../ports/testing/records.js';

const dir = mkdtempSync(join(tmpdir(), 'omtx-sqlite-quota-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SqliteJobStore quota counts', () => {
  it("reads only an index for each count, never the table: a user's or an organization's", async () => {
    const executed: string[] = [];
    const db = new Database(join(dir, 'plans.sqlite'), { verbose: (sql) => executed.push(String(sql)) });
    const store = new SqliteJobStore(db);
    try {
      for (let i = 0; i < 20; i++) await store.createJob(buildJob({ organizationId: i % 2 ? 'lab-a' : null }));
      const { batch, children } = buildBatch(30, { organizationId: 'lab-a' });
      await store.createBatch(batch, children);
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
    } finally {
      await store.close();
    }
  });
});
