import { spawn } from 'node:child_process';
import type { ToolRun } from '../process.js';

/** How `boltz predict` ended; its output went to `onLine` as it came. */
export type BoltzRun = Omit<ToolRun, 'stdout' | 'stderr'>;

export interface BoltzRunOptions {
  cwd: string;
  /** The whole process group is killed (SIGKILL) after this long. */
  timeLimitMs: number;
  signal?: AbortSignal;
  /** Each line of stdout and stderr, in arrival order, with progress-bar redraws collapsed. */
  onLine: (line: string) => void;
}

/**
 * Runs `boltz predict` and streams its output, where `runTool` captures it for the end: a
 * shard runs for many minutes and its log tells which stage Boltz is in and why an input
 * was skipped. Two more differences, both needed by a Python program with helpers:
 *
 * - `PYTHONUNBUFFERED=1`: Python block-buffers a piped stdout, so without it the lines would
 *   arrive in 8 KiB lumps, or only at exit.
 * - Boltz starts DataLoader workers and a preprocessing pool; they hold GPU memory and the
 *   output pipes. The process gets its own group and the whole group is killed, on a time
 *   limit, an abort, or once the main process has exited.
 *
 * Rejects only when the process cannot start (ENOENT, EACCES).
 */
export function runBoltz(file: string, args: readonly string[], options: BoltzRunOptions): Promise<BoltzRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    if (options.signal?.aborted) {
      resolve({ exitCode: null, signal: null, timedOut: false, aborted: true, seconds: 0 });
      return;
    }
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let timedOut = false;
    let aborted = false;
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const stdout = new LineSplitter(options.onLine);
    const stderr = new LineSplitter(options.onLine);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => stdout.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeLimitMs);
    const onAbort = () => {
      aborted = true;
      killGroup();
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
    // Helpers left behind would hold the pipes open (and 'close' would never come).
    child.on('exit', killGroup);
    child.on('close', (exitCode, signal) => {
      settle();
      stdout.end();
      stderr.end();
      resolve({ exitCode, signal, timedOut, aborted, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/**
 * Splits a stream into lines. A carriage return starts the line over, as on a terminal, so a
 * progress bar redrawn a thousand times is one line, and a long partial line stays small.
 */
class LineSplitter {
  #partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lastRedraw(lines.pop()!);
    for (const line of lines) this.onLine(lastRedraw(line).replace(/\r+$/, ''));
  }

  end(): void {
    const line = this.#partial.replace(/\r+$/, '');
    this.#partial = '';
    if (line) this.onLine(line);
  }
}

/** What is left on screen of `line`: the text after its last carriage return (a trailing one is kept for now). */
function lastRedraw(line: string): string {
  const cut = line.replace(/\r+$/, '').lastIndexOf('\r');
  return cut === -1 ? line : line.slice(cut + 1);
}
