/**
 * Page cost against depth: `jobs(first: 50)` on a store of 1,000,000 individual jobs, the first
 * page against page 20,000 (the last one), through the store alone and through the api over
 * HTTP. The seeded file is kept in bench/.data/paging-1m/ and reused by later runs.
 * Run: npm run bench -- paging
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqlite } from '../src/adapters/local/sqlite/database.js';
import { SqliteJobStore } from '../src/adapters/local/sqlite-job-store.js';
import { seedIndividualJobs } from './support/seed.js';
import { DATA, gql, startHub } from './support/processes.js';
import { JOBS_QUERY } from './support/queries.js';
import { load, type LoadResult } from './support/load.js';
import { fmt, percentile, sortedCopy } from './support/stats.js';
import { runIfMain, type BenchReport } from './support/report.js';

const JOBS = 1_000_000;
const PAGE = 50;
const DEPTH = 20_000;
const OWNER = 'local';
const DIR = join(DATA, 'paging-1m');
const FILE = join(DIR, 'omtx.sqlite');
const MARKER = join(DIR, 'seeded.json');

/** Seeds the million-job file unless a complete one is cached. */
function ensureSeeded(notes: string[]): void {
  if (existsSync(MARKER) && (JSON.parse(readFileSync(MARKER, 'utf8')) as { jobs: number }).jobs === JOBS) {
    notes.push(`reused the cached seeded file ${FILE}`);
    return;
  }
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const started = performance.now();
  seedIndividualJobs(FILE, OWNER, JOBS, (n) => process.stderr.write(`  seeded ${n.toLocaleString('en')} jobs\n`));
  const seconds = (performance.now() - started) / 1000;
  writeFileSync(MARKER, JSON.stringify({ jobs: JOBS, owner: OWNER, seededAt: new Date().toISOString(), seconds }));
  notes.push(`seeded ${JOBS.toLocaleString('en')} jobs in ${fmt(seconds)} s (one transaction, one prepared INSERT)`);
}

/** Per-call times of `fn` in ms, A and B interleaved in rounds so drift hits both alike. */
async function timeInterleaved(a: () => Promise<unknown>, b: () => Promise<unknown>, rounds: number, perRound: number) {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < perRound; i++) {
    // warm-up
    await a();
    await b();
  }
  for (let r = 0; r < rounds; r++) {
    for (const [fn, out] of [
      [a, ta],
      [b, tb],
    ] as const) {
      for (let i = 0; i < perRound; i++) {
        const t = performance.now();
        await fn();
        out.push(performance.now() - t);
      }
    }
  }
  return { a: sortedCopy(ta), b: sortedCopy(tb) };
}

export async function run(): Promise<BenchReport> {
  const notes: string[] = [];
  ensureSeeded(notes);

  // Store alone, in this process.
  const db = openSqlite(FILE);
  const store = new SqliteJobStore(db);
  const walkStarted = performance.now();
  let after: string | null = null;
  let page2Cursor: string | null = null;
  for (let page = 1; page < DEPTH; page++) {
    const p = await store.listJobs(OWNER, {}, { first: PAGE, after });
    after = p.edges.at(-1)!.cursor;
    if (page === 1) page2Cursor = after;
  }
  const walkSeconds = (performance.now() - walkStarted) / 1000;
  const deep = await store.listJobs(OWNER, {}, { first: PAGE, after });
  if (deep.edges.length !== PAGE || deep.hasNextPage)
    throw new Error(
      `page ${DEPTH} should be the last full page; got ${deep.edges.length} edges, hasNextPage ${deep.hasNextPage}`,
    );
  notes.push(
    `walked to page ${DEPTH.toLocaleString('en')} by cursor through the store once in ${fmt(walkSeconds)} s (${fmt((walkSeconds * 1000) / DEPTH, 2)} ms a page); it holds the 50 oldest jobs`,
  );

  const storeTimes = await timeInterleaved(
    () => store.listJobs(OWNER, {}, { first: PAGE }),
    () => store.listJobs(OWNER, {}, { first: PAGE, after }),
    10,
    200,
  );
  const page2Times = await timeInterleaved(
    () => store.listJobs(OWNER, {}, { first: PAGE, after: page2Cursor }),
    () => store.listJobs(OWNER, {}, { first: PAGE, after }),
    5,
    200,
  );
  const plan = db
    .prepare(
      `EXPLAIN QUERY PLAN SELECT * FROM jobs WHERE owner = ? AND kind = ? AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT 51`,
    )
    .all(OWNER, 'INDIVIDUAL', 0, '') as { detail: string }[];
  notes.push(`query plan of a deep page: ${plan.map((p) => p.detail).join('; ')}`);
  db.close();

  // Through the api over HTTP.
  const hub = await startHub(DIR);
  let http: { first: LoadResult[]; deep: LoadResult[] };
  try {
    const check = await gql<{ jobs: { edges: unknown[]; pageInfo: { hasNextPage: boolean } } }>(hub.url, JOBS_QUERY, {
      first: PAGE,
      after,
    });
    if (check.jobs.edges.length !== PAGE || check.jobs.pageInfo.hasNextPage)
      throw new Error('the api did not answer the deep page as the store did');
    const firstBody = () => JSON.stringify({ query: JOBS_QUERY, variables: { first: PAGE } });
    const deepBody = () => JSON.stringify({ query: JOBS_QUERY, variables: { first: PAGE, after } });
    http = { first: [], deep: [] };
    for (let round = 0; round < 2; round++) {
      http.first.push(
        await load({ url: hub.url, body: firstBody, connections: 10, seconds: 5, warmupSeconds: round === 0 ? 2 : 0 }),
      );
      http.deep.push(await load({ url: hub.url, body: deepBody, connections: 10, seconds: 5, warmupSeconds: 0 }));
    }
  } finally {
    await hub.stop();
  }

  const med = (t: Float64Array) => percentile(t, 50);
  const storeRatio = med(storeTimes.b) / med(storeTimes.a);
  const sum = (rs: LoadResult[], k: 'rps' | 'p50') => rs.reduce((s, r) => s + r[k], 0) / rs.length;
  const httpRatio = sum(http.first, 'rps') / sum(http.deep, 'rps');
  return {
    name: 'Paging: jobs(first: 50) at depth 1 vs depth 20,000 over 1,000,000 jobs',
    method:
      `1,000,000 COMPLETED individual jobs of \`${OWNER}\` (full rows as the store writes them). Store: \`SqliteJobStore.listJobs\` in the bench ` +
      `process, 10 rounds × 200 calls of each page, interleaved; per-call median and p99. HTTP: the api in its own process, autocannon 10 ` +
      `connections, 2 rounds × 5 s per page interleaved (after 2 s warm-up); ratio of throughputs (= ratio of mean page cost). Depth 1 is ` +
      `the first page (no cursor); depth 20,000 is \`after\` the cursor of page 19,999 (the last page). Ratio = cost deep / cost first.`,
    figures: [
      {
        name: 'store listJobs, page 20,000 vs page 1',
        value: `median ${fmt(med(storeTimes.b), 3)} ms (p99 ${fmt(percentile(storeTimes.b, 99), 3)} ms)`,
        baseline: `median ${fmt(med(storeTimes.a), 3)} ms (p99 ${fmt(percentile(storeTimes.a, 99), 3)} ms)`,
        ratio: fmt(storeRatio, 2),
        target: 'ratio ≤ 1.5',
        met: storeRatio <= 1.5,
      },
      {
        name: 'store listJobs, page 20,000 vs page 2 (both with a cursor)',
        value: `median ${fmt(med(page2Times.b), 3)} ms`,
        baseline: `median ${fmt(med(page2Times.a), 3)} ms`,
        ratio: fmt(med(page2Times.b) / med(page2Times.a), 2),
        target: '(reference)',
      },
      {
        name: 'HTTP jobs(first: 50), page 20,000 vs page 1',
        value: `${fmt(sum(http.deep, 'rps'), 0)} req/s (p50 ${fmt(sum(http.deep, 'p50'))} ms)`,
        baseline: `${fmt(sum(http.first, 'rps'), 0)} req/s (p50 ${fmt(sum(http.first, 'p50'))} ms)`,
        ratio: fmt(httpRatio, 2),
        target: 'ratio ≤ 1.5',
        met: httpRatio <= 1.5,
      },
    ],
    notes,
  };
}

runIfMain(import.meta.url, run);
