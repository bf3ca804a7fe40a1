/**
 * `job(id)` and `jobs(first: 50)` over HTTP: the api (`omtx serve`, its own process) against a
 * plain graphql-js server on node:http reading the same SQLite file (also its own process).
 * autocannon drives both from this process, 50 connections, 2 s warm-up then 10 s measured;
 * then both again at a fixed 1,000 req/s (autocannon `overallRate`) for the latency.
 * Run: npm run bench -- http   (BENCH_CPU_PROF=1 writes the servers' CPU profiles to bench/.data/profiles)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { seedIndividualJobs, seededJobId } from './support/seed.js';
import { gql, startBaseline, startHub, type ServerProcess } from './support/processes.js';
import { JOB_QUERY, JOBS_QUERY } from './support/queries.js';
import { load, type LoadResult } from './support/load.js';
import { fmt, type Figure } from './support/stats.js';
import { runIfMain, type BenchReport } from './support/report.js';

const JOBS = 10_000;
const OWNER = 'local';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

const jobBody = () => JSON.stringify({ query: JOB_QUERY, variables: { id: seededJobId(Math.floor(Math.random() * JOBS)) } });
const jobsBody = () => JSON.stringify({ query: JOBS_QUERY, variables: { first: 50 } });

interface Measured {
  job: LoadResult;
  jobs: LoadResult;
  jobAt1k: LoadResult;
  jobsAt1k: LoadResult;
}

/** The per-field rate limits on and counting in memory, never reached. */
const COUNTING_LIMITS = { OMTX_RATE_READ: '1000000', OMTX_RATE_MUTATION: '1000000' };

async function check(server: ServerProcess): Promise<void> {
  // Both servers must answer the same data before we time them.
  const one = await gql<{ job: { id: string } | null }>(server.url, JOB_QUERY, { id: seededJobId(42) });
  if (one.job?.id !== seededJobId(42)) throw new Error(`${server.url} did not find job 42`);
  const page = await gql<{ jobs: { edges: unknown[] } }>(server.url, JOBS_QUERY, { first: 50 });
  if (page.jobs.edges.length !== 50) throw new Error(`${server.url} returned ${page.jobs.edges.length} jobs, not 50`);
}

async function measure(server: ServerProcess): Promise<Measured> {
  await check(server);
  const job = await load({ url: server.url, body: jobBody, seconds: SECONDS });
  const jobs = await load({ url: server.url, body: jobsBody, seconds: SECONDS });
  const jobAt1k = await load({ url: server.url, body: jobBody, seconds: SECONDS, overallRate: 1000 });
  const jobsAt1k = await load({ url: server.url, body: jobsBody, seconds: SECONDS, overallRate: 1000 });
  return { job, jobs, jobAt1k, jobsAt1k };
}

export async function run(): Promise<BenchReport> {
  const dataDir = mkdtempSync(join(tmpdir(), 'omtx-bench-http-'));
  try {
    seedIndividualJobs(join(dataDir, 'omtx.sqlite'), OWNER, JOBS);
    // One server at a time, so each has the machine's second core to itself.
    const hub = await startHub(dataDir);
    let hubResult: Measured;
    try {
      hubResult = await measure(hub);
    } finally {
      await hub.stop();
    }
    // The same hub with the per-field rate limits on and counting, set so high that nothing is
    // refused (the default hub has them off; its cost budget counts in both): what the rate
    // limiter costs when one user's window holds every call of the run.
    const counting = await startHub(dataDir, COUNTING_LIMITS);
    let countingJob: LoadResult;
    try {
      await check(counting);
      countingJob = await load({ url: counting.url, body: jobBody, seconds: SECONDS });
    } finally {
      await counting.stop();
    }
    const baseline = await startBaseline(join(dataDir, 'omtx.sqlite'), OWNER);
    let base: Measured;
    try {
      base = await measure(baseline);
    } finally {
      await baseline.stop();
    }

    const throughput = (name: string, h: LoadResult, b: LoadResult, target: number): Figure => ({
      name,
      value: `${fmt(h.rps, 0)} req/s (p50 ${h.p50} ms, p99 ${h.p99} ms)`,
      baseline: `${fmt(b.rps, 0)} req/s (p50 ${b.p50} ms, p99 ${b.p99} ms)`,
      ratio: `${fmt(h.rps / b.rps, 2)} (goal ≥ 0.6${h.rps / b.rps >= 0.6 ? ', met' : ', **missed**'})`,
      target: `≥ ${target.toLocaleString('en')} req/s`,
      met: h.rps >= target,
    });
    const latency = (name: string, h: LoadResult, b: LoadResult): Figure => ({
      name,
      value: `p99 ${h.p99} ms (p50 ${h.p50} ms, max ${h.max} ms, ${fmt(h.rps, 0)} req/s served)`,
      baseline: `p99 ${b.p99} ms (p50 ${b.p50} ms, max ${b.max} ms)`,
      ratio: `${fmt(h.p99 / Math.max(b.p99, 1), 1)}× the baseline's p99`,
      target: 'p99 ≤ 25 ms',
      met: h.p99 <= 25 && h.rps >= 950,
    });
    const failures =
      [hubResult, base].flatMap((m) => Object.values(m) as LoadResult[]).reduce((s, r) => s + r.failures, 0) +
      countingJob.failures;
    return {
      name: 'HTTP: job(id) and jobs(first: 50)',
      method:
        `${JOBS.toLocaleString('en')} COMPLETED individual jobs of \`${OWNER}\` in a fresh SQLite file. Each server runs alone in its own ` +
        `Node process (hub: \`node --import tsx src/cli/main.ts serve\`, OMTX_LOG_LEVEL=warn; baseline: bench/support/baseline-server.ts, ` +
        `graphql-js \`execute\` on an SDL schema, same SqliteJobStore on the same file). autocannon in the bench process, 50 connections, ` +
        `2 s warm-up discarded, ${SECONDS} s measured; job(id) picks a random seeded id per request; the same full Job selection ` +
        `(ligand, protein, parameters, result) in both. The fixed-rate runs use autocannon overallRate = 1,000 req/s (latency corrected for coordinated omission).`,
      figures: [
        throughput('job(id), 50 connections', hubResult.job, base.job, 3000),
        throughput('jobs(first: 50), 50 connections', hubResult.jobs, base.jobs, 1000),
        latency('job(id) at 1,000 req/s', hubResult.jobAt1k, base.jobAt1k),
        latency('jobs(first: 50) at 1,000 req/s', hubResult.jobsAt1k, base.jobsAt1k),
        {
          name: 'job(id), 50 connections, rate limits counting (never reached)',
          value: `${fmt(countingJob.rps, 0)} req/s (p50 ${countingJob.p50} ms, p99 ${countingJob.p99} ms)`,
          baseline: `the hub without them: ${fmt(hubResult.job.rps, 0)} req/s`,
          ratio: fmt(countingJob.rps / hubResult.job.rps, 2),
          target: 'none (the cost of the security layer)',
          met: true,
        },
      ],
      notes: [`failed requests (errors, timeouts, non-2xx) over all runs: ${failures}`],
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, run);
