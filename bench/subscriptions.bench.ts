/**
 * Delay of `batchProgress` events: N subscribers (graphql-ws over `ws`) on one batch while
 * another process completes its children through the store on the same SQLite file (the
 * api's change feed polls the change log every 50 ms for other processes' commits). The
 * delay of one (subscriber, child) pair is when that subscriber first saw the child
 * COMPLETED minus when the completer's transaction returned; both clocks are this machine's
 * Date.now(). Baseline: the same with one subscriber.
 * Run: npm run bench -- subscriptions
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { openSqlite } from '../src/adapters/local/sqlite/database.js';
import { SqliteJobStore } from '../src/adapters/local/sqlite-job-store.js';
import { buildBatch } from '../src/ports/testing/records.js';
import { REPO, startHub, type ServerProcess } from './support/processes.js';
import { BATCH_PROGRESS_SUBSCRIPTION } from './support/queries.js';
import { fmt, percentile, sortedCopy, type Figure } from './support/stats.js';
import { runIfMain, type BenchReport } from './support/report.js';

const CHILDREN = Number(process.env.BENCH_SUB_CHILDREN ?? 300);
/** Completions per second by the other process. */
const RATE = Number(process.env.BENCH_SUB_RATE ?? 20);

interface Event {
  batchProgress: {
    progress: { total: number; completed: number };
    changedJobs: { id: string; status: string; batchIndex: number }[];
  };
}

interface CaseResult {
  label: string;
  subscribers: number;
  delays: Float64Array;
  missing: number;
  eventsPerSubscriber: number;
  hubCpuPercent: number;
  seconds: number;
}

/** CPU time (user + system) of a process in seconds, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function runCase(hub: ServerProcess, file: string, label: string, sockets: number, perSocket: number): Promise<CaseResult> {
  // A fresh batch of PENDING children for this case, written by this process.
  const db = openSqlite(file);
  const { batch, children } = buildBatch(CHILDREN, { owner: 'local', createdAt: new Date() });
  for (const c of children) c.updatedAt = c.createdAt;
  await new SqliteJobStore(db).createBatch(batch, children);
  db.close();

  const clients: Client[] = [];
  const received: Float64Array[] = [];
  let events = 0;
  let initial = 0;
  const finished: Promise<void>[] = [];
  let allSubscribed!: () => void;
  const subscribed = new Promise<void>((r) => (allSubscribed = r));
  const total = sockets * perSocket;
  for (let s = 0; s < sockets; s++) {
    const client = createClient({
      url: hub.url.replace('http', 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
    });
    clients.push(client);
    for (let k = 0; k < perSocket; k++) {
      const seen = new Float64Array(CHILDREN).fill(NaN);
      received.push(seen);
      let first = true;
      finished.push(
        new Promise<void>((resolve, reject) => {
          client.subscribe<Event>(
            { query: BATCH_PROGRESS_SUBSCRIPTION, variables: { id: batch.id } },
            {
              next: (value) => {
                const now = Date.now();
                events++;
                if (first) {
                  first = false;
                  if (++initial === total) allSubscribed();
                }
                if (value.errors) return reject(new Error(JSON.stringify(value.errors)));
                for (const job of value.data?.batchProgress.changedJobs ?? []) {
                  if (job.status === 'COMPLETED' && Number.isNaN(seen[job.batchIndex]!)) seen[job.batchIndex] = now;
                }
              },
              error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
              complete: () => resolve(),
            },
          );
        }),
      );
    }
  }
  const subscribeTimeout = setTimeout(() => allSubscribed(), 60_000);
  await subscribed;
  clearTimeout(subscribeTimeout);
  if (initial < total) throw new Error(`${label}: only ${initial} of ${total} subscribers got their first event within 60 s`);

  const cpuBefore = cpuSeconds(hub.pid);
  const started = Date.now();
  const completer = spawn(process.execPath, ['--import', 'tsx', 'bench/support/completer.ts', file, batch.id, String(RATE)], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  completer.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const completerExit = new Promise<number | null>((resolve) => completer.once('exit', resolve));
  const deadline = new Promise<never>((_, reject) =>
    setTimeout(
      () => reject(new Error(`${label}: subscriptions did not complete within ${CHILDREN / RATE + 60} s`)),
      (CHILDREN / RATE + 60) * 1000,
    ).unref(),
  );
  await Promise.race([Promise.all(finished), deadline]);
  const seconds = (Date.now() - started) / 1000;
  const hubCpuPercent = ((cpuSeconds(hub.pid) - cpuBefore) / seconds) * 100;
  if ((await completerExit) !== 0) throw new Error(`${label}: the completer failed`);
  await Promise.all(clients.map((c) => c.dispose()));

  const { committedAt } = JSON.parse(out) as { committedAt: number[] };
  const delays: number[] = [];
  let missing = 0;
  for (const seen of received) {
    for (let i = 0; i < CHILDREN; i++) {
      if (Number.isNaN(seen[i]!)) missing++;
      else delays.push(seen[i]! - committedAt[i]!);
    }
  }
  return {
    label,
    subscribers: total,
    delays: sortedCopy(delays),
    missing,
    eventsPerSubscriber: events / total,
    hubCpuPercent,
    seconds,
  };
}

export async function run(): Promise<BenchReport> {
  const dataDir = mkdtempSync(join(tmpdir(), 'omtx-bench-subs-'));
  const file = join(dataDir, 'omtx.sqlite');
  new SqliteJobStore(openSqlite(file)); // schema before the api opens it
  const hub = await startHub(dataDir);
  const results: CaseResult[] = [];
  try {
    results.push(await runCase(hub, file, '1 subscriber (baseline)', 1, 1));
    results.push(await runCase(hub, file, '1,000 subscribers on 20 sockets × 50', 20, 50));
    results.push(await runCase(hub, file, '1,000 subscribers on 1,000 sockets', 1_000, 1));
  } finally {
    await hub.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const base = results[0]!;
  const p = (r: CaseResult, q: number) => percentile(r.delays, q);
  const figures: Figure[] = results.map((r) => ({
    name: `batchProgress delay, ${r.label}`,
    value: `p95 ${fmt(p(r, 95), 0)} ms (p50 ${fmt(p(r, 50), 0)}, p99 ${fmt(p(r, 99), 0)}, max ${fmt(p(r, 100), 0)} ms)`,
    ...(r === base ? {} : { baseline: `p95 ${fmt(p(base, 95), 0)} ms`, ratio: `${fmt(p(r, 95) / p(base, 95), 2)}×` }),
    target: 'p95 ≤ 250 ms',
    met: p(r, 95) <= 250 && r.missing === 0,
  }));
  return {
    name: 'Subscriptions: batchProgress delay under 1,000 subscribers',
    method:
      `Per case a fresh batch of ${CHILDREN} PENDING children (written by the bench process); all subscribers get their first event, then ` +
      `another process (bench/support/completer.ts) claims and completes one child every ${fmt(1000 / RATE, 0)} ms (${RATE}/s) through ` +
      'SqliteJobStore on the same file and records each commit time. Each subscriber selects progress and changedJobs { id status batchIndex }; ' +
      'delay = first receipt of that child as COMPLETED by that subscriber − its commit time, over every (subscriber, child) pair. ' +
      'The api runs in its own process; the graphql-ws clients (`ws`) run in the bench process. The cases run one after another on one api.',
    figures,
    notes: results.map(
      (r) =>
        `${r.label}: ${r.delays.length.toLocaleString('en')} delays, ${r.missing} completions never seen, ${fmt(r.eventsPerSubscriber, 1)} events per subscriber, ` +
        `api CPU ${fmt(r.hubCpuPercent, 0)} % of one core over ${fmt(r.seconds, 1)} s`,
    ),
  };
}

runIfMain(import.meta.url, run);
