/**
 * Processes and GraphQL calls for the worker benchmarks (bench/vina-screen.bench.ts,
 * bench/orchestration.bench.ts): the real `omtx serve` CLI, the instant worker, polling a
 * batch to its end, the machine line and a CPU-profile summary.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from '../../test/support/free-port.js';
import { machineSummary as coreMachineSummary } from '../support/machine.js';
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NO_LIMITS_ENV } from '../../test/support/no-limits.js';

/** The repository root (bench/worker/ → ../../). */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface Proc {
  url: string;
  child: ChildProcess;
  /** SIGTERM, then waits for the exit (a `--cpu-prof` profile is written then). */
  stop(): Promise<void>;
}

function profileFlags(dir: string | undefined): string[] {
  if (!dir) return [];
  mkdirSync(dir, { recursive: true });
  // No --cpu-prof-name: `omtx serve` passes execArgv on to its worker child, and the default
  // name (with the pid) keeps the two profiles apart.
  return ['--cpu-prof', '--cpu-prof-dir', dir];
}

function stopper(child: ChildProcess): () => Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
  };
}

/**
 * `node --import tsx src/cli/main.ts serve` — the api and, unless OMTX_WORKER_URL is set, its
 * supervised worker child — exactly as `./omtx serve` runs it. Resolves once /readyz answers.
 */
export async function startServe(env: Record<string, string>, cpuProfDir?: string): Promise<Proc> {
  const port = await freePort();
  const child = spawn(process.execPath, [...profileFlags(cpuProfDir), '--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    cwd: REPO,
    env: {
      ...process.env,
      OMTX_HOST: '127.0.0.1',
      OMTX_PORT: String(port),
      OMTX_SHUTDOWN_GRACE_SECONDS: '1',
      // Throughput is measured without the per-user limits, which would refuse most of the load.
      ...NO_LIMITS_ENV,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`omtx serve exited with code ${child.exitCode} before it was ready`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`omtx serve was not ready at ${url} within 90 s`);
    }
    await sleep(100);
  }
  return { url, child, stop: stopper(child) };
}

/** bench/worker/instant-worker.ts in its own process; resolves with the URL it announces. */
export async function startInstantWorker(env: Record<string, string>, cpuProfDir?: string): Promise<Proc> {
  const child = spawn(process.execPath, [...profileFlags(cpuProfDir), '--import', 'tsx', 'bench/worker/instant-worker.ts'], {
    cwd: REPO,
    env: { ...process.env, OMTX_WORKER_HOST: '127.0.0.1', OMTX_WORKER_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let announced = false;
    // Later lines are the worker's pino log: read and dropped, as a terminal would show them.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!announced && line.startsWith('{"workerUrl"')) {
        announced = true;
        resolve((JSON.parse(line) as { workerUrl: string }).workerUrl);
      }
    });
    child.once('exit', (code) => {
      if (!announced) reject(new Error(`the instant worker exited with code ${code} before listening`));
    });
  });
  return { url, child, stop: stopper(child) };
}

/** POSTs one GraphQL operation; throws on HTTP or GraphQL errors. */
export async function gql<T>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!response.ok || body.errors) {
    throw new Error(`GraphQL call failed (${response.status}): ${JSON.stringify(body.errors ?? body).slice(0, 2000)}`);
  }
  return body.data as T;
}

const MODELS = `{ models { name available unavailableReason } }`;

/** Waits until the api says `model` can run (its worker answers GET /models). */
export async function waitForModel(url: string, model: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    const { models } = await gql<{ models: { name: string; available: boolean; unavailableReason: string | null }[] }>(
      url,
      MODELS,
    );
    const found = models.find((m) => m.name === model);
    if (found?.available) return;
    last = found?.unavailableReason ?? 'not listed';
    await sleep(250);
  }
  throw new Error(`${model} did not become available: ${last}`);
}

export interface BatchEnd {
  status: string;
  progress: { total: number; completed: number; failed: number; cancelled: number };
  startedAt: string | null;
  completedAt: string | null;
  /** performance.now() when the poll that saw the terminal state returned. */
  seenAt: number;
}

const BATCH = `query Batch($id: ID!) {
  batch(id: $id) { status startedAt completedAt progress { total completed failed cancelled } }
}`;
const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/**
 * Polls the batch every `pollMs` until it ends. Polling, not a subscription, so the watcher
 * adds one cheap read per poll to the api and nothing per changed job.
 */
export async function waitForBatch(url: string, id: string, pollMs: number, timeoutMs: number): Promise<BatchEnd> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const { batch } = await gql<{ batch: Omit<BatchEnd, 'seenAt'> }>(url, BATCH, { id });
    if (TERMINAL.has(batch.status)) return { ...batch, seenAt: performance.now() };
    if (performance.now() > deadline)
      throw new Error(`batch ${id} still ${batch.status} after ${timeoutMs} ms: ${JSON.stringify(batch.progress)}`);
    await sleep(pollMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function toolVersion(file: string, args: string[], pattern: RegExp): string {
  const run = spawnSync(file, args, { encoding: 'utf8' });
  return pattern.exec(`${run.stdout ?? ''}${run.stderr ?? ''}`)?.[1] ?? 'not found';
}

/** The machine line with the docking tools' versions: the figures mean little without it. */
export function machineSummary(): string {
  const vina = toolVersion('vina', ['--version'], /AutoDock Vina v?(\S+)/);
  const obabel = toolVersion('obabel', ['-V'], /Open Babel (\S+)/);
  return `${coreMachineSummary()}; vina ${vina}, obabel ${obabel}`;
}

/** 1-minute load average, to say how busy the (shared) machine was during a run. */
export function load1(): string {
  return loadavg()[0]!.toFixed(2);
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** The top functions by self time of a V8 `.cpuprofile`, as "pct %  name file:line" lines. */
export function profileTop(file: string, top: number): { totalSeconds: number; lines: string[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url.replace(/^file:\/\/.*?\/node_modules\//, '').replace(`file://${REPO}`, '');
    const key = `${functionName || '(anonymous)'} ${where}${where ? `:${lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + us);
  });
  const lines = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => `${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
  return { totalSeconds: total / 1e6, lines };
}
