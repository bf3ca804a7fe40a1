import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../test/support/free-port.js';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NO_LIMITS_ENV } from '../../test/support/no-limits.js';

/** The repository root (bench/support/ → ../../). */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** Cached data and CPU profiles; gitignored. */
export const DATA = join(REPO, 'bench', '.data');

export interface ServerProcess {
  /** `http://127.0.0.1:port` */
  url: string;
  pid: number;
  child: ChildProcess;
  /** Peak resident set of the process so far (VmHWM), in MiB; NaN off Linux. */
  peakRssMiB(): number;
  /** Current resident set (VmRSS), in MiB. */
  rssMiB(): number;
  /** SIGTERM, then waits for exit (a CPU profile, when asked for, is written on exit). */
  stop(): Promise<void>;
}

/** `--cpu-prof` for the server under test when BENCH_CPU_PROF=1, profiles in bench/.data/profiles. */
function profileFlags(label: string): string[] {
  if (process.env.BENCH_CPU_PROF !== '1') return [];
  const dir = join(DATA, 'profiles');
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${label}-${Date.now()}.cpuprofile`];
}

/**
 * Runs a TypeScript entry in its own Node process (through tsx), so the load generator never
 * shares the event loop of the server under test. Resolves once GET `readyPath` answers 200.
 */
async function startNodeServer(
  label: string,
  args: string[],
  env: Record<string, string>,
  port: number,
  readyPath: string,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...profileFlags(label), '--import', 'tsx', ...args], {
    cwd: REPO,
    // Production mode for hub and baseline alike, as ./omtx runs it (graphql-js skips its dev checks).
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const early = await Promise.race([exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 100))]);
    if (early !== 'running') throw new Error(`${label} exited with code ${early} before it was ready`);
    try {
      const response = await fetch(url + readyPath);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${label} was not ready at ${url}${readyPath} within 60 s`);
    }
  }
  const status = (field: 'VmHWM' | 'VmRSS') => {
    try {
      const line = readFileSync(`/proc/${child.pid}/status`, 'utf8')
        .split('\n')
        .find((l) => l.startsWith(field + ':'));
      return line ? Number(line.split(/\s+/)[1]) / 1024 : NaN;
    } catch {
      return NaN;
    }
  };
  return {
    url,
    pid: child.pid!,
    child,
    peakRssMiB: () => status('VmHWM'),
    rssMiB: () => status('VmRSS'),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timeout = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timeout);
    },
  };
}

/** The OMTX-Hub api (bench/support/hub-server.ts: what `omtx serve` runs) on a data directory, logging at warn. */
export async function startHub(dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort();
  return startNodeServer(
    'hub',
    ['bench/support/hub-server.ts'],
    {
      OMTX_HOST: '127.0.0.1',
      OMTX_PORT: String(port),
      OMTX_DATA_DIR: dataDir,
      OMTX_LOG_LEVEL: 'warn',
      OMTX_SHUTDOWN_GRACE_SECONDS: '1',
      // Throughput is measured without the per-user limits, which would refuse most of the load.
      ...NO_LIMITS_ENV,
      ...env,
    },
    port,
    '/readyz',
  );
}

/** The plain graphql-js baseline (bench/support/baseline-server.ts) on the same SQLite file. */
export async function startBaseline(sqliteFile: string, owner = 'local'): Promise<ServerProcess> {
  const port = await freePort();
  return startNodeServer('baseline', ['bench/support/baseline-server.ts', sqliteFile, String(port), owner], {}, port, '/healthz');
}

/** POSTs one GraphQL operation; throws on HTTP or GraphQL errors. */
export async function gql<T>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!response.ok || body.errors)
    throw new Error(`GraphQL call failed (${response.status}): ${JSON.stringify(body.errors ?? body).slice(0, 2000)}`);
  return body.data as T;
}
