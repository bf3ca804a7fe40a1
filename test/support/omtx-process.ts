import { afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import {
  BatchChildrenDocument,
  SubmitBatchDocument,
  type BatchChildrenQuery,
  type SubmitBatchInput,
} from '../../schema/__generated__/graphql.js';
import { POCKET_1IEP, RECEPTOR_1IEP } from './inputs.js';
import type { GraphqlResponse } from './server.js';
import { NO_LIMITS_ENV } from './no-limits.js';

/**
 * Real processes for the worker fault tests: `omtx serve` (the api, which starts and
 * supervises `omtx worker` as its child) and `omtx worker` alone, each run as
 * `node --import tsx src/cli/main.ts …` over a data directory the test owns.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');

/** One pino line (or a plain line, as `{ msg }`) a process printed. */
export interface LogRecord {
  msg?: string;
  service?: string;
  [field: string]: unknown;
}

/** Everything a process (and, for the api, its worker) printed, parsed as it arrives. */
export class ProcessLogs {
  readonly records: LogRecord[] = [];
  readonly #waiters = new Set<() => void>();

  add(line: string): void {
    let record: LogRecord;
    try {
      const parsed: unknown = JSON.parse(line);
      record = parsed !== null && typeof parsed === 'object' ? (parsed as LogRecord) : { msg: line };
    } catch {
      record = { msg: line };
    }
    this.records.push(record);
    for (const wake of this.#waiters) wake();
  }

  /** Records whose `msg` is `message`. */
  withMessage(message: string): LogRecord[] {
    return this.records.filter((r) => r.msg === message);
  }

  /** Resolves once `predicate` holds over the records; rejects after `timeoutMs`, quoting the tail. */
  until(what: string, predicate: (records: LogRecord[]) => boolean, timeoutMs = 60_000): Promise<void> {
    if (predicate(this.records)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => {
        if (!predicate(this.records)) return;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last lines:\n${this.tail()}`));
      }, timeoutMs);
      this.#waiters.add(wake);
    });
  }

  tail(lines = 20): string {
    return this.records
      .slice(-lines)
      .map((r) => JSON.stringify(r))
      .join('\n');
  }
}

/** A started process: stopped (SIGTERM, then SIGKILL after `graceMs`) by `stop()`. */
interface Spawned {
  proc: ChildProcess;
  logs: ProcessLogs;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(graceMs?: number): Promise<void>;
}

/** Settings that must not leak from the test runner's environment into the processes. */
function cleanEnv(env: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('OMTX_') && !key.startsWith('VITEST') && key !== 'NODE_OPTIONS') base[key] = value;
  }
  return { ...base, OMTX_LOG_LEVEL: 'info', ...env };
}

function spawnOmtx(command: 'serve' | 'worker', env: Record<string, string>): Spawned {
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, command], {
    cwd: ROOT,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = new ProcessLogs();
  createInterface({ input: proc.stdout! }).on('line', (line) => logs.add(line));
  createInterface({ input: proc.stderr! }).on('line', (line) => logs.add(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  live.add(proc);
  void exited.then(() => live.delete(proc));
  return {
    proc,
    logs,
    exited,
    async stop(graceMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Processes not yet stopped, so a failed test does not leave them running. */
const live = new Set<ChildProcess>();

/** Kills (SIGKILL) every process this module started that is still running; for `afterAll`. */
export async function killLeftoverProcesses(): Promise<void> {
  await Promise.all(
    [...live].map(
      (proc) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
          proc.once('exit', () => resolve());
          proc.kill('SIGKILL');
        }),
    ),
  );
}

/** A fresh data directory (SQLite file and artifacts), shared by the processes given it. */
export function makeDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'omtx-proc-'));
}

export function removeDataDir(dataDir: string): void {
  rmSync(dataDir, { recursive: true, force: true });
}

/**
 * For a test file: a maker of data directories that, after the file's tests, kills what
 * they left running and removes every directory it made.
 */
export function dataDirsCleanedAfterAll(): () => string {
  const made: string[] = [];
  afterAll(async () => {
    await killLeftoverProcesses();
    for (const dir of made) removeDataDir(dir);
  });
  return () => {
    const dir = makeDataDir();
    made.push(dir);
    return dir;
  };
}

/** Rejects when the process exits before `ready` settles, with what it printed. */
function unlessExited<T>(spawned: Spawned, what: string, ready: Promise<T>): Promise<T> {
  return Promise.race([
    ready,
    spawned.exited.then(({ code, signal }) => {
      throw new Error(`${what} exited (code ${code}, signal ${signal}) before it was ready:\n${spawned.logs.tail()}`);
    }),
  ]);
}

export interface OmtxApi {
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  pid: number;
  dataDir: string;
  /** The api's log lines and its worker's (the supervisor forwards them). */
  logs: ProcessLogs;
  request<R, V>(document: TypedDocumentNode<R, V>, variables?: V): Promise<GraphqlResponse<R>>;
  /** A graphql-ws client on this api; disposed by `stop()`. */
  wsClient(): Client;
  /** The pid of the supervised `omtx worker` child running now, if any. */
  workerPid(): number | undefined;
  /** Waits until a worker child runs whose pid is not `previous`. */
  waitForWorkerPid(previous?: number, timeoutMs?: number): Promise<number>;
  /** SIGTERM and wait for the exit (the worker child goes with it). The data dir stays. */
  stop(): Promise<void>;
}

/**
 * Starts `omtx serve` on a port the OS picks (OMTX_PORT=0) over `dataDir`, with `env` on top of
 * test defaults, and resolves once it listens and `/readyz` answers 200 (and, unless
 * OMTX_WORKER_URL names one, once its worker child runs).
 */
export async function startOmtxApi(dataDir: string, env: Record<string, string> = {}): Promise<OmtxApi> {
  const spawned = spawnOmtx('serve', {
    OMTX_DATA_DIR: dataDir,
    OMTX_PORT: '0',
    OMTX_SHUTDOWN_GRACE_SECONDS: '1',
    ...NO_LIMITS_ENV,
    ...env,
  });
  const { logs, proc } = spawned;
  const listening = (r: LogRecord) => r.msg === 'OMTX-Hub api listening' && typeof r.url === 'string';
  await unlessExited(
    spawned,
    'omtx serve',
    logs.until('the api to listen', (rs) => rs.some(listening)),
  );
  const url = new URL(logs.records.find(listening)!.url as string).origin;
  await unlessExited(spawned, 'omtx serve', waitForReady(url));
  const clients: Client[] = [];

  const api: OmtxApi = {
    url,
    pid: proc.pid!,
    dataDir,
    logs,
    async request(document, variables) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query: print(document), variables }),
      });
      const body = (await response.json()) as { data?: never; errors?: never };
      return { status: response.status, data: body.data, errors: body.errors, headers: response.headers };
    },
    wsClient() {
      const client = createClient({
        url: `${url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
      });
      clients.push(client);
      return client;
    },
    workerPid: () => workerChildOf(proc.pid!),
    waitForWorkerPid: (previous, timeoutMs = 30_000) =>
      waitFor(
        `a worker child of pid ${proc.pid} other than ${previous ?? 'none'}`,
        () => {
          const pid = workerChildOf(proc.pid!);
          return pid !== undefined && pid !== previous ? pid : undefined;
        },
        timeoutMs,
      ),
    async stop() {
      await Promise.all(clients.map((c) => c.dispose()));
      await spawned.stop();
    },
  };
  if (!env.OMTX_WORKER_URL) await api.waitForWorkerPid();
  return api;
}

export interface OmtxWorker {
  /** Base URL; tasks go to `${url}/tasks`. */
  url: string;
  pid: number;
  logs: ProcessLogs;
  stop(): Promise<void>;
}

/** Starts `omtx worker` alone over `dataDir` on a port the OS picks; resolves once it listens. */
export async function startOmtxWorker(dataDir: string, env: Record<string, string> = {}): Promise<OmtxWorker> {
  const spawned = spawnOmtx('worker', { OMTX_DATA_DIR: dataDir, OMTX_WORKER_PORT: '0', ...env });
  const announced = (r: LogRecord) => typeof r.workerUrl === 'string';
  await unlessExited(
    spawned,
    'omtx worker',
    spawned.logs.until('the worker to listen', (rs) => rs.some(announced)),
  );
  const url = spawned.logs.records.find(announced)!.workerUrl as string;
  return { url, pid: spawned.proc.pid!, logs: spawned.logs, stop: () => spawned.stop() };
}

async function waitForReady(url: string): Promise<void> {
  await waitFor(`${url}/readyz to answer 200`, async () => {
    const response = await fetch(`${url}/readyz`).catch(() => null);
    return response?.status === 200 ? true : undefined;
  });
}

/**
 * The `omtx worker` child of `pid`: Linux lists each thread's children in
 * /proc/<pid>/task/<tid>/children; the worker is the one whose command line ends in `worker`.
 */
export function workerChildOf(pid: number): number | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const children = tids.flatMap((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
  return children.find((child) => {
    try {
      const argv = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').filter(Boolean);
      return argv.at(-1) === 'worker';
    } catch {
      return false; // exited meanwhile
    }
  });
}

/**
 * Polls `check` every `intervalMs` until it returns a value other than undefined (or false),
 * and resolves with it; rejects after `timeoutMs` naming `what`. For conditions no event
 * announces (another process's state); it never sleeps longer than needed.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Every `next` of a subscription until it completes; `done` rejects on an error. */
export function subscribe<R, V extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<R, V>,
  variables: V,
): { events: R[]; done: Promise<R[]> } {
  const events: R[] = [];
  const done = new Promise<R[]>((resolve, reject) => {
    client.subscribe<R>(
      { query: print(document), variables },
      {
        next: (value) => {
          if (value.errors) reject(new Error(`subscription error: ${JSON.stringify(value.errors)}`));
          else if (value.data) events.push(value.data);
        },
        error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: () => resolve(events),
      },
    );
  });
  return { events, done };
}

/** The artifact names stored for each job of a batch: `blobs/objects/batches/{batch}/jobs/{job}/…`. */
export function storedArtifacts(dataDir: string, batchId: string): Map<string, string[]> {
  const jobsDir = join(dataDir, 'blobs', 'objects', 'batches', batchId, 'jobs');
  const byJob = new Map<string, string[]>();
  let jobIds: string[] = [];
  try {
    jobIds = readdirSync(jobsDir);
  } catch {
    return byJob;
  }
  for (const jobId of jobIds) byJob.set(jobId, readdirSync(join(jobsDir, jobId)).sort());
  return byJob;
}

// ——— Batches through the api's GraphQL ———

export type BatchChildrenBatch = NonNullable<BatchChildrenQuery['batch']>;
export type Child = BatchChildrenBatch['jobs']['edges'][number]['node'];

/** Submits a batch and returns its id; throws with the errors when the api refuses it. */
export async function submitBatch(api: OmtxApi, input: SubmitBatchInput): Promise<string> {
  const response = await api.request(SubmitBatchDocument, { input });
  const batch = response.data?.submitBatch.batch;
  if (!batch) throw new Error(`submitBatch was refused: ${JSON.stringify(response.errors)}`);
  return batch.id;
}

/** The batch with every child (all pages), in index order. */
export async function batchChildren(api: OmtxApi, id: string): Promise<{ batch: BatchChildrenBatch; jobs: Child[] }> {
  const jobs: Child[] = [];
  let after: string | null = null;
  let batch: BatchChildrenBatch | null = null;
  do {
    const response: GraphqlResponse<BatchChildrenQuery> = await api.request(BatchChildrenDocument, { id, first: 100, after });
    if (!response.data?.batch) throw new Error(`batch ${id} not readable: ${JSON.stringify(response.errors)}`);
    batch = response.data.batch;
    jobs.push(...batch.jobs.edges.map((e) => e.node));
    after = batch.jobs.pageInfo.hasNextPage ? (batch.jobs.pageInfo.endCursor ?? null) : null;
  } while (after !== null);
  return { batch, jobs: jobs.sort((a, b) => (a.batchIndex ?? 0) - (b.batchIndex ?? 0)) };
}

/** Polls the batch until `done` holds (e.g. a terminal status), and returns that state. */
export function waitForBatch(
  api: OmtxApi,
  id: string,
  what: string,
  done: (state: { batch: BatchChildrenBatch; jobs: Child[] }) => boolean,
  timeoutMs = 120_000,
): Promise<{ batch: BatchChildrenBatch; jobs: Child[] }> {
  return waitFor(
    `batch ${id}: ${what}`,
    async () => {
      const state = await batchChildren(api, id);
      return done(state) ? state : undefined;
    },
    timeoutMs,
    150,
  );
}

const TERMINAL_BATCH: readonly string[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** Waits for COMPLETED, FAILED or CANCELLED. */
export function waitForBatchEnd(api: OmtxApi, id: string, timeoutMs = 120_000) {
  return waitForBatch(api, id, 'a terminal status', ({ batch }) => TERMINAL_BATCH.includes(batch.status), timeoutMs);
}

/** Children per status, counted from the children themselves (to compare with the counters). */
export function countByStatus(
  jobs: Child[],
): Record<'pending' | 'queued' | 'running' | 'completed' | 'failed' | 'cancelled', number> {
  const count = (status: string) => jobs.filter((j) => j.status === status).length;
  return {
    pending: count('PENDING'),
    queued: count('QUEUED'),
    running: count('RUNNING'),
    completed: count('COMPLETED'),
    failed: count('FAILED'),
    cancelled: count('CANCELLED'),
  };
}

/** Small, quick-docking ligands (each under ~10 heavy atoms to ~15). */
export const SMALL_LIGANDS = [
  { name: 'aspirin', smiles: 'CC(=O)Oc1ccccc1C(=O)O' },
  { name: 'paracetamol', smiles: 'CC(=O)Nc1ccc(O)cc1' },
  { name: 'caffeine', smiles: 'Cn1cnc2c1c(=O)n(C)c(=O)n2C' },
  { name: 'salicylic acid', smiles: 'OC(=O)c1ccccc1O' },
  { name: 'benzamide', smiles: 'NC(=O)c1ccccc1' },
  { name: 'phenol', smiles: 'Oc1ccccc1' },
  { name: 'nicotinamide', smiles: 'NC(=O)c1cccnc1' },
  { name: 'benzoic acid', smiles: 'OC(=O)c1ccccc1' },
] as const;

/**
 * A cheap VINA batch against 1IEP: exhaustiveness 1, one pose, a 16 Å box around the
 * imatinib site, and `n` small ligands (cycling through {@link SMALL_LIGANDS}).
 */
export function cheapVinaBatch(name: string, n: number): SubmitBatchInput {
  return {
    model: 'VINA',
    name,
    protein: {
      name: '1IEP',
      structure: { format: 'PDBQT', content: RECEPTOR_1IEP },
      pocket: { center: POCKET_1IEP.center, size: [16, 16, 16] },
    },
    ligands: Array.from({ length: n }, (_, i) => ({
      ...SMALL_LIGANDS[i % SMALL_LIGANDS.length]!,
      name: `${SMALL_LIGANDS[i % SMALL_LIGANDS.length]!.name} #${i}`,
    })),
    parameters: { exhaustiveness: 1, numPoses: 1 },
  };
}
