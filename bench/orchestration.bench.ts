/**
 * Orchestration alone: submit → every child COMPLETED on the embedded default, with the
 * benchmark-only InstantRunner (bench/worker/instant-runner.ts) in place of Vina, so nothing
 * is measured but the hub: RDKit validation, the batch transaction, the SQLite task queue,
 * HTTP dispatch to the worker, claim / shouldStop / complete per job, the change log.
 *
 * Processes, as `omtx serve` runs them: the api is the real CLI (`node --import tsx
 * src/cli/main.ts serve`, OMTX_WORKER_URL set so it supervises no worker of its own), the
 * worker is bench/worker/instant-worker.ts (gpu-worker's startWorkerServer over
 * openLocalAdapters with a registry holding only the InstantRunner), each its own process on
 * one SQLite file; this process only submits and polls the batch (100 ms).
 *
 * Baseline: the store floor — the same transactions the worker makes per job (claim, the
 * shouldStop read, complete) plus createBatch + markQueued, called in this process on a
 * fresh SqliteJobStore: no HTTP, no queue, no second process, no validation.
 *
 *   npx tsx bench/orchestration.bench.ts          (BENCH_CPU_PROF=1 adds a profiled run)
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { openSqlite } from '../src/adapters/local/sqlite/database.js';
import { SqliteJobStore } from '../src/adapters/local/sqlite-job-store.js';
import { pendingBatch, pendingJob, type Batch, type Job, type Pocket } from '../src/domain/job.js';
import { buildLigand, buildParameters } from '../src/ports/testing/records.js';
import { LIGANDS } from './worker/drug-ligands.js';
import {
  gql,
  load1,
  machineSummary,
  profileTop,
  REPO,
  startInstantWorker,
  startServe,
  waitForBatch,
  waitForModel,
} from './worker/processes.js';

const TARGET_JOBS_PER_S = 300;
const RECEPTOR = 'ATOM      1  N   MET A   1      15.104  53.134  16.504  0.00  0.00    -0.066 N \nEND\n';
const POCKET: Pocket = { center: [15.19, 53.903, 16.917], size: [20, 20, 20] };
const SUBMIT = `mutation Submit($input: SubmitBatchInput!) { submitBatch(input: $input) { batch { id progress { total } } } }`;

interface Setting {
  shardSize: number;
  dispatch: number;
  workerConcurrency: number;
}

const DEFAULT: Setting = { shardSize: 4, dispatch: 2, workerConcurrency: 1 };

interface HubRun extends Setting {
  ligands: number;
  /** Submit sent → COMPLETED seen. */
  seconds: number;
  /** Submit sent → submitBatch answered (validation, the batch transaction, enqueue). */
  submitSeconds: number;
}

function input(count: number) {
  return {
    model: 'VINA',
    name: `orchestration ${count}`,
    protein: { name: 'stub', structure: { format: 'PDBQT', content: RECEPTOR }, pocket: POCKET },
    ligands: Array.from({ length: count }, (_, i) => ({ name: `L${i}`, smiles: LIGANDS[i % LIGANDS.length]![1] })),
  };
}

async function submitAndWait(url: string, count: number): Promise<{ seconds: number; submitSeconds: number }> {
  const started = performance.now();
  const { submitBatch } = await gql<{ submitBatch: { batch: { id: string } } }>(url, SUBMIT, { input: input(count) });
  const submitSeconds = (performance.now() - started) / 1000;
  const end = await waitForBatch(url, submitBatch.batch.id, 100, 600_000);
  if (end.status !== 'COMPLETED' || end.progress.completed !== count) {
    throw new Error(`batch of ${count} ended ${end.status}: ${JSON.stringify(end.progress)}`);
  }
  return { seconds: (end.seenAt - started) / 1000, submitSeconds };
}

/** One fresh data directory, worker and api per setting; a 40-ligand batch warms both first. */
async function runHub(setting: Setting, count: number, profileDir?: string): Promise<HubRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'omtx-bench-orch-'));
  const worker = await startInstantWorker(
    { OMTX_DATA_DIR: dataDir, OMTX_WORKER_CONCURRENCY: String(setting.workerConcurrency) },
    profileDir && join(profileDir, 'worker'),
  );
  try {
    const api = await startServe(
      {
        OMTX_DATA_DIR: dataDir,
        OMTX_WORKER_URL: worker.url,
        OMTX_SHARD_SIZE: String(setting.shardSize),
        OMTX_DISPATCH_CONCURRENCY: String(setting.dispatch),
      },
      profileDir && join(profileDir, 'api'),
    );
    try {
      await waitForModel(api.url, 'VINA');
      await submitAndWait(api.url, 40);
      return { ...setting, ligands: count, ...(await submitAndWait(api.url, count)) };
    } finally {
      await api.stop();
    }
  } finally {
    await worker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The per-job store work alone, in one process: see the file comment. */
async function storeFloor(count: number): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'omtx-bench-floor-'));
  const store = new SqliteJobStore(openSqlite(join(dataDir, 'omtx.sqlite')));
  try {
    const now = new Date();
    const batchId = randomUUID();
    const parameters = buildParameters();
    const protein = {
      name: 'stub',
      sequence: null,
      structure: { format: 'PDBQT' as const, content: RECEPTOR },
      pocket: POCKET,
      msa: null,
    };
    const children: Job[] = Array.from({ length: count }, (_, i) =>
      pendingJob(
        {
          id: randomUUID(),
          owner: 'local',
          kind: 'BATCH_CHILD',
          model: 'VINA',
          name: `L${i}`,
          ligand: buildLigand({
            name: `L${i}`,
            smiles: LIGANDS[i % LIGANDS.length]![1],
            canonicalSmiles: LIGANDS[i % LIGANDS.length]![1],
          }),
          protein: null,
          parameters,
          batchId,
          batchIndex: i,
          idempotencyKey: null,
        },
        now,
      ),
    );
    const batch: Batch = pendingBatch(
      {
        id: batchId,
        owner: 'local',
        name: 'floor',
        model: 'VINA',
        protein: protein,
        parameters,
        maxConcurrent: null,
        webhookUrl: null,
        idempotencyKey: null,
      },
      count,
      now,
    );
    const started = performance.now();
    await store.createBatch(batch, children);
    await store.markQueued(
      children.map((c) => c.id),
      new Date(),
    );
    for (const [i, child] of children.entries()) {
      const claim = await store.claim(child.id, new Date(), 120_000);
      if (!claim.claimed) throw new Error(`floor: could not claim ${child.id}`);
      await store.getJobs([child.id]);
      const score = -5 - (i % 7);
      await store.complete(
        child.id,
        claim.attempt,
        {
          affinity: { value: score, unit: 'KCAL_PER_MOL', kcalPerMol: score, probabilityBinder: null, heads: [] },
          confidence: null,
          poses: [{ rank: 1, score, rmsdLowerBound: 0, rmsdUpperBound: 0 }],
          artifacts: [],
          provenance: { model: 'VINA', tools: { instant: 'bench-only' } },
        },
        new Date(),
      );
    }
    return (performance.now() - started) / 1000;
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function settingName(s: Setting): string {
  const name = `shard ${s.shardSize}, dispatch ${s.dispatch}, worker concurrency ${s.workerConcurrency}`;
  return s.shardSize === DEFAULT.shardSize && s.dispatch === DEFAULT.dispatch && s.workerConcurrency === DEFAULT.workerConcurrency
    ? `${name} (defaults)`
    : name;
}

export async function run(): Promise<{ markdown: string }> {
  const small = Number(process.env.BENCH_ORCH_SMALL ?? 2_000);
  const large = Number(process.env.BENCH_ORCH_LARGE ?? 10_000);
  const settings: Setting[] = [
    DEFAULT,
    { shardSize: 4, dispatch: 8, workerConcurrency: 8 },
    { shardSize: 25, dispatch: 2, workerConcurrency: 1 },
    { shardSize: 100, dispatch: 2, workerConcurrency: 1 },
    { shardSize: 100, dispatch: 4, workerConcurrency: 4 },
  ];
  // BENCH_ORCH_TABLE=0 with BENCH_CPU_PROF=1: only the profiled run.
  const table = process.env.BENCH_ORCH_TABLE !== '0';
  const floors = new Map<number, number>();
  if (table) for (const count of [small, large]) floors.set(count, await storeFloor(count));

  const runs: (HubRun & { load: string })[] = [];
  const go = async (setting: Setting, count: number) => {
    const load = load1();
    console.error(`${settingName(setting)}, ${count} ligands…`);
    const r = await runHub(setting, count);
    console.error(`  ${r.seconds.toFixed(2)} s, ${(count / r.seconds).toFixed(0)} jobs/s`);
    runs.push({ ...r, load });
  };
  if (table) {
    for (const setting of settings) await go(setting, small);
    const best = runs.reduce((a, b) => (b.ligands / b.seconds > a.ligands / a.seconds ? b : a));
    await go(DEFAULT, large);
    if (settingName(best) !== settingName(DEFAULT)) await go(best, large);
  }

  const rows = runs.map((r) => {
    const jobsPerS = r.ligands / r.seconds;
    const floor = r.ligands / floors.get(r.ligands)!;
    const dispatchPhase = r.ligands / (r.seconds - r.submitSeconds);
    return (
      `| ${r.ligands.toLocaleString('en')} | ${settingName(r)} | ${r.seconds.toFixed(2)} | ${r.submitSeconds.toFixed(2)} | ` +
      `**${jobsPerS.toFixed(0)}** ${jobsPerS >= TARGET_JOBS_PER_S ? 'met' : 'MISSED'} | ${dispatchPhase.toFixed(0)} | ${floor.toFixed(0)} | ` +
      `${(jobsPerS / floor).toFixed(3)} | ${r.load} |`
    );
  });

  const sections = [
    '## Orchestration: submit → all COMPLETED with the instant runner',
    '',
    'Api = the real `omtx serve` CLI with OMTX_WORKER_URL (child process); worker = bench/worker/instant-worker.ts ' +
      '(child process, startWorkerServer + RunnerRegistry([InstantRunner]) over openLocalAdapters, same data dir); ' +
      'log level info (the default). Each setting gets fresh processes and a fresh data dir, and a 40-ligand warm-up batch. ' +
      `Target: ≥ ${TARGET_JOBS_PER_S} jobs/s submit → COMPLETED. Baseline (store floor): the same per-job transactions ` +
      '(createBatch, markQueued, then claim + getJobs + complete per job) called in-process on a fresh SqliteJobStore.',
    '',
    '| ligands | setting | submit → COMPLETED (s) | submitBatch answered (s) | jobs/s (target ≥ 300) | jobs/s after submit answered | store floor jobs/s (baseline) | hub / floor | load avg (1 min) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ];

  if (process.env.BENCH_CPU_PROF === '1') {
    const profileDir = join(REPO, 'bench', '.data', 'worker', `profiles-${Date.now()}`);
    const count = Number(process.env.BENCH_PROF_LIGANDS ?? small);
    console.error(`profiled run, defaults, ${count} ligands…`);
    const r = await runHub(DEFAULT, count, profileDir);
    sections.push(
      '',
      `### CPU profile (defaults, ${count} ligands, ${r.seconds.toFixed(2)} s under --cpu-prof; whole process life, start-up and warm-up included)`,
    );
    for (const part of ['api', 'worker']) {
      const dir = join(profileDir, part);
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) continue;
      const top = profileTop(join(dir, file), 20);
      sections.push(
        '',
        `${part}: ${top.totalSeconds.toFixed(1)} s sampled (${join(dir, file).replace(REPO, '')})`,
        '',
        '```',
        ...top.lines,
        '```',
      );
    }
  }
  return { markdown: sections.join('\n') };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  console.log(`# ${new Date().toISOString()} — ${machineSummary()}\n`);
  run().then(
    (report) => console.log(report.markdown),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
