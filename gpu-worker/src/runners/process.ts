import { spawn } from 'node:child_process';

/** How a tool run ended. Spawn failures (ENOENT, EACCES) reject instead. */
export interface ToolRun {
  /** Null when the process was ended by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** We killed it because it ran past `timeLimitMs`. */
  timedOut: boolean;
  /** We killed it because `signal` aborted. */
  aborted: boolean;
  seconds: number;
}

export interface ToolRunOptions {
  cwd: string;
  /** Killed (SIGKILL) after this long. */
  timeLimitMs: number;
  signal?: AbortSignal;
}

/** Output kept per stream; Vina and Open Babel print little, this guards against a runaway tool. */
const MAX_CAPTURE = 1024 * 1024; // 1 MiB

/**
 * Runs `file` with `args` (an argument array, never a shell), capturing its output. Resolves
 * whatever the exit status: callers judge the run by its output, not its exit code.
 */
export function runTool(file: string, args: readonly string[], options: ToolRunOptions): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    if (options.signal?.aborted) {
      resolve({ exitCode: null, signal: null, stdout: '', stderr: '', timedOut: false, aborted: true, seconds: 0 });
      return;
    }
    const child = spawn(file, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < MAX_CAPTURE) stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < MAX_CAPTURE) stderr += chunk;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeLimitMs);
    const onAbort = () => {
      aborted = true;
      child.kill('SIGKILL');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (error) => {
      settle();
      reject(error);
    });
    child.on('close', (exitCode, signal) => {
      settle();
      resolve({ exitCode, signal, stdout, stderr, timedOut, aborted, seconds: (performance.now() - started) / 1000 });
    });
  });
}
