import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite, type SqliteDatabase } from './sqlite/database.js';
import { SqliteJobStore } from './sqlite-job-store.js';
import { SqliteChangeFeed } from './sqlite-change-feed.js';
import { claimOk, describeJobStoreContract, getJob, type StoreHarness } from '../../ports/job-store.contract.js';
import { describeChangeFeedContract, recorder, sawChild } from '../../ports/change-feed.contract.js';
import { T0, at, buildBatch, buildJob, buildResult } from '../../ports/testing/records.js';
import { quotaWindows } from '../../domain/quota.js';
import type { JobStore } from '../../ports/job-store.js';
import type { PageRequest } from '../../ports/page.js';

const dir = mkdtempSync(join(tmpdir(), 'omtx-sqlite-store-'));
let files = 0;
const freshPath = () => join(dir, `store-${++files}.sqlite`);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A store and its feed on one database, wired as the api wires them. */
function open(db: SqliteDatabase, pollIntervalMs?: number): StoreHarness & { store: SqliteJobStore; feed: SqliteChangeFeed } {
  let feed: SqliteChangeFeed | undefined;
  const store = new SqliteJobStore(db, () => feed?.notify());
  feed = new SqliteChangeFeed(db, pollIntervalMs === undefined ? {} : { pollIntervalMs });
  const opened = feed;
  return {
    store,
    feed: opened,
    async close() {
      await opened.close();
      await store.close();
    },
  };
}

const makeHarness = async () => open(openSqlite(freshPath()));

describeJobStoreContract('SQLite', makeHarness);
describeChangeFeedContract('SQLite', makeHarness);

describe('SqliteJobStore on a shared file', () => {
  it("delivers a change committed by another process's store to this process's feed", async () => {
    const path = freshPath();
    const api = open(openSqlite(path));
    const worker = open(openSqlite(path));
    try {
      const { batch, children } = buildBatch(3);
      await api.store.createBatch(batch, children);
      const id = children[1]!.id;
      await api.store.markQueued([id], at(0));
      const ofJob = recorder<[]>();
      const ofBatch = recorder<[string[]]>();
      api.feed.watchJob(id, ofJob.listener);
      api.feed.watchBatch(batch.id, ofBatch.listener);

      const attempt = await claimOk(worker.store, id, at(10));
      await ofJob.until((calls) => calls.length >= 1, 'the claim made by the worker');
      await worker.store.complete(id, attempt, buildResult({ affinity: -4 }), at(20));
      await ofBatch.until((calls) => sawChild(calls, id), 'the completion made by the worker');

      expect(await getJob(api.store, id)).toMatchObject({ status: 'COMPLETED', attempts: 1 });
      expect((await api.store.getBatches([batch.id]))[0]?.counts).toMatchObject({ completed: 1, pending: 2 });
      expect(await api.store.claim(id, at(30), 60_000)).toMatchObject({ claimed: false, reason: 'FINISHED' });
    } finally {
      await worker.close();
      await api.close();
    }
  });

  it("hands another process's commits to the listeners at once on flush, without waiting for the poll", async () => {
    const path = freshPath();
    const api = open(openSqlite(path), 60_000);
    const worker = open(openSqlite(path));
    try {
      const { batch, children } = buildBatch(2);
      await api.store.createBatch(batch, children);
      const id = children[0]!.id;
      const ofBatch = recorder<[string[]]>();
      api.feed.watchBatch(batch.id, ofBatch.listener);
      await worker.store.markQueued([id], at(0));
      // The poll is a minute away: only flush can bring the change now.
      expect(ofBatch.calls).toHaveLength(0);
      await api.feed.flush();
      expect(sawChild(ofBatch.calls, id)).toBe(true);
    } finally {
      await worker.close();
      await api.close();
    }
  });

  it('prunes old changes from the log even when nobody listens', async () => {
    const db = openSqlite(freshPath());
    const store = new SqliteJobStore(db);
    const feed = new SqliteChangeFeed(db, { retentionMs: 10 });
    try {
      const { batch, children } = buildBatch(3);
      await store.createBatch(batch, children);
      await store.markQueued(
        children.map((c) => c.id),
        at(0),
      );
      const count = () => (db.prepare('SELECT count(*) AS n FROM job_changes').get() as { n: number }).n;
      expect(count()).toBeGreaterThan(0);
      await expect.poll(count, { timeout: 5_000 }).toBe(0);
    } finally {
      await feed.close();
      await store.close();
    }
  });

  it('opens a file made before cost accounting: its jobs have no usage, its batches zero sums, and new usage adds up', async () => {
    const path = freshPath();
    const { batch, children } = buildBatch(2);
    const [done, waiting] = children.map((c) => c.id) as [string, string];
    const before = open(openSqlite(path));
    await before.store.createBatch(batch, children);
    await before.store.markQueued([done, waiting], at(0));
    await before.store.complete(done, await claimOk(before.store, done, at(1)), buildResult(), at(2));
    await before.close();
    const old = openSqlite(path);
    // The quota indexes on usage came later still, and the GPU estimates after them: an old file has none.
    old.exec('DROP INDEX jobs_gpu_month_by_owner; DROP INDEX jobs_gpu_month_by_org');
    old.exec('ALTER TABLE jobs DROP COLUMN estimate_gpu_ms; ALTER TABLE jobs DROP COLUMN gpu_ms_before_retry');
    for (const table of ['jobs', 'batches'])
      for (const column of ['usage_runtime_ms', 'usage_gpu_ms', 'usage_cost_nano_usd'])
        old.exec(`ALTER TABLE ${table} DROP COLUMN ${column}`);
    old.close();

    const again = open(openSqlite(path));
    try {
      expect((await getJob(again.store, done)).usage).toBeNull();
      expect((await again.store.getBatches([batch.id]))[0]?.usage).toEqual({ runtimeMs: 0, gpuMs: 0, costNanoUsd: 0 });
      const usage = { runtimeMs: 1_000, gpuMs: 0, costNanoUsd: 83_000 };
      await again.store.complete(waiting, await claimOk(again.store, waiting, at(3)), buildResult(), at(4), usage);
      expect((await getJob(again.store, waiting)).usage).toEqual(usage);
      expect((await again.store.getBatches([batch.id]))[0]?.usage).toEqual(usage);
    } finally {
      await again.close();
    }
  });

  it('opens a file made before GPU estimates: its open jobs count what they record, and the first GPU indexes are replaced', async () => {
    const path = freshPath();
    const earlier = buildJob();
    const before = open(openSqlite(path));
    await before.store.createJob(earlier);
    await before.close();
    const old = openSqlite(path);
    old.exec('DROP INDEX jobs_gpu_month_by_owner; DROP INDEX jobs_gpu_month_by_org');
    old.exec('ALTER TABLE jobs DROP COLUMN estimate_gpu_ms; ALTER TABLE jobs DROP COLUMN gpu_ms_before_retry');
    old.exec('CREATE INDEX jobs_gpu_by_owner ON jobs (owner, created_at, usage_gpu_ms) WHERE usage_gpu_ms > 0');
    old.close();

    const db = openSqlite(path);
    const again = open(db);
    try {
      expect((await getJob(again.store, earlier.id)).estimatedGpuMs).toBe(0);
      await again.store.createJob(buildJob({ estimatedGpuMs: 4_000 }));
      expect((await again.store.quotaUsage({ kind: 'user', id: 'alice' }, quotaWindows(T0))).gpuMsThisMonth).toBe(4_000);
      const indexes = (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'jobs_gpu%'").all() as {
          name: string;
        }[]
      ).map((r) => r.name);
      expect(indexes.sort()).toEqual(['jobs_gpu_month_by_org', 'jobs_gpu_month_by_owner']);
    } finally {
      await again.close();
    }
  });

  it('keeps every record after the file is closed and opened again', async () => {
    const path = freshPath();
    const first = open(openSqlite(path));
    const job = buildJob({ idempotencyKey: 'kept' });
    const { batch, children } = buildBatch(2);
    await first.store.createJob(job);
    await first.store.createBatch(batch, children);
    await first.close();

    const again = open(openSqlite(path));
    try {
      expect(await again.store.getJobs([job.id])).toEqual([job]);
      expect(await again.store.getBatches([batch.id])).toEqual([batch]);
      expect(await again.store.createJob(buildJob({ idempotencyKey: 'kept' }))).toEqual({ job, created: false });
    } finally {
      await again.close();
    }
  });
});

describe('SqliteJobStore query plans', () => {
  it('reads every page with one index range scan and no temporary sort', async () => {
    const path = freshPath();
    const executed: string[] = [];
    let capturing = false;
    // openSqlite takes no options: the same pragmas, plus `verbose` to see the SQL the store runs.
    const db = new Database(path, { verbose: (sql) => capturing && executed.push(String(sql)) });
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    const { store, close } = open(db);
    try {
      await seed(store);
      const batchId = (await store.listBatches('alice', {}, { first: 1 })).edges[0]!.node.id;

      capturing = true;
      const reads: ((req: PageRequest) => Promise<unknown>)[] = [
        (req) => store.listJobs('alice', {}, req),
        (req) => store.listJobs('alice', { status: 'QUEUED' }, req),
        (req) => store.listJobs('alice', { model: 'VINA' }, req),
        (req) => store.listJobs('alice', { kind: 'BATCH_CHILD' }, req),
        (req) => store.listJobs('alice', { batchId }, req),
        (req) => store.listJobs('alice', { batchId, status: 'COMPLETED' }, req),
        (req) => store.listBatches('alice', {}, req),
        (req) => store.listBatches('alice', { status: 'RUNNING' }, req),
        ...(['INDEX', 'AFFINITY', 'CONFIDENCE'] as const).flatMap((field) =>
          (['ASC', 'DESC'] as const).flatMap((direction) => [
            (req: PageRequest) => store.listBatchJobs(batchId, {}, { field, direction }, req),
            (req: PageRequest) => store.listBatchJobs(batchId, { status: 'COMPLETED' }, { field, direction }, req),
          ]),
        ),
      ];
      for (const read of reads) {
        // First pages both ways, then one page each way from a cursor in the middle.
        const page = (await read({ first: 5 })) as { edges: { cursor: string }[] };
        await read({ last: 5 });
        const cursor = page.edges[2]?.cursor;
        if (cursor) {
          await read({ first: 5, after: cursor });
          await read({ last: 5, before: cursor });
        }
      }
      capturing = false;

      const pageQueries = [...new Set(executed.filter((sql) => /^SELECT \* FROM (jobs|batches) WHERE .* ORDER BY /s.test(sql)))];
      expect(pageQueries.length).toBeGreaterThan(40);
      const problems = pageQueries.flatMap((sql) => {
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((row) => row.detail);
        const scansWithoutIndex = plan.filter((d) => /^(SCAN|SEARCH) /.test(d) && !/USING (COVERING )?INDEX/.test(d));
        const sorts = plan.filter((d) => d.includes('TEMP B-TREE'));
        return scansWithoutIndex.length + sorts.length === 0 ? [] : [{ sql, plan }];
      });
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  });
});

/** Individual jobs and a ranked batch, enough that the planner has something to choose. */
async function seed(store: JobStore): Promise<void> {
  for (let i = 0; i < 40; i++)
    await store.createJob(buildJob({ createdAt: at(i * 1000), model: i % 4 === 0 ? 'VINA' : 'BOLTZ2' }));
  await store.markQueued([], at(0));
  const { batch, children } = buildBatch(60);
  await store.createBatch(batch, children);
  await store.markQueued(
    children.map((c) => c.id),
    at(0),
  );
  for (const [i, child] of children.entries()) {
    if (i % 3 === 2) continue;
    const attempt = await claimOk(store, child.id, at(10));
    if (i % 5 === 0) await store.fail(child.id, attempt, { code: 'X', message: 'x', retryable: false }, at(20));
    else
      await store.complete(
        child.id,
        attempt,
        buildResult({ affinity: i % 7 === 0 ? null : -i / 10, confidence: i % 6 === 0 ? null : i / 100 }),
        at(20),
      );
  }
  const queued = (await store.listJobs('alice', {}, { first: 5 })).edges.map((e) => e.node.id);
  await store.markQueued(queued, at(30));
}
