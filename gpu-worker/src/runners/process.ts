import { spawn, type ChildProcess } from 'node:child_process';

/** How a tool run ended. */
export interface ToolExit {
  /** Null when the process was ended by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** We killed it because it ran past `timeLimitMs`. */
  timedOut: boolean;
  /** We killed it because `signal` aborted. */
  aborted: boolean;
  seconds: number;
}

/** How a tool run ended, with the start of its output. Spawn failures (ENOENT, EACCES) reject instead. */
export interface ToolRun extends ToolExit {
  /** The first `MAX_CAPTURE` characters of stdout, also when it was streamed to `onLine`. */
  stdout: string;
  /** The first `MAX_CAPTURE` characters of stderr, also when it was streamed to `onLine`. */
  stderr: string;
}

export type ToolStream = 'stdout' | 'stderr';

export interface ToolRunOptions {
  cwd: string;
  /** Its process group is killed (SIGKILL) after this long. */
  timeLimitMs: number;
  /** Aborting kills its process group (SIGKILL). */
  signal?: AbortSignal;
  /** Set over this process's environment, e.g. `{ PYTHONUNBUFFERED: '1' }` for a Python tool. */
  env?: Readonly<Record<string, string>>;
  /**
   * Each line of stdout and stderr as it arrives, in order within each stream, with
   * progress-bar redraws collapsed (see `LineSplitter`). A last line without a newline comes
   * at exit. Must not throw.
   */
  onLine?: (stream: ToolStream, line: string) => void;
}

/** Output kept per stream; the tools print little, this guards against a runaway one. */
export const MAX_CAPTURE = 1024 * 1024; // 1 MiB (of UTF-16 characters)

/**
 * Runs `file` with `args` (an argument array, never a shell), capturing its output and, with
 * `onLine`, streaming it. Resolves whatever the exit status: callers judge the run by its
 * output, not its exit code.
 *
 * The tool gets its own process group, and the whole group is killed on the time limit, on an
 * abort, and once the tool itself has exited: helpers it started (Boltz's DataLoader workers
 * and preprocessing pool, which hold GPU memory) die with it, and a helper left holding the
 * output pipes cannot keep the run from ending.
 *
 * Rejects only when the process cannot start (ENOENT, EACCES).
 */
export function runTool(file: string, args: readonly string[], options: ToolRunOptions): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    if (options.signal?.aborted) {
      resolve({ exitCode: null, signal: null, stdout: '', stderr: '', timedOut: false, aborted: true, seconds: 0 });
      return;
    }
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env && { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group (setsid), so that `killGroup` reaches its helpers.
      detached: true,
    });
    const stdout = new Capture('stdout', options.onLine);
    const stderr = new Capture('stderr', options.onLine);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => stdout.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
    let timedOut = false;
    let aborted = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, options.timeLimitMs);
    const onAbort = () => {
      aborted = true;
      killGroup(child);
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
    child.on('exit', () => killGroup(child));
    child.on('close', (exitCode, signal) => {
      settle();
      stdout.end();
      stderr.end();
      resolve({
        exitCode,
        signal,
        stdout: stdout.text,
        stderr: stderr.text,
        timedOut,
        aborted,
        seconds: (performance.now() - started) / 1000,
      });
    });
  });
}

/** SIGKILLs the child's process group; the child alone if the group cannot be signalled. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return; // It never started.
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is gone (or the child left it); the child, if still there, is killed alone.
    child.kill('SIGKILL');
  }
}

/** One output stream: its first `MAX_CAPTURE` characters, and its lines for `onLine`. */
class Capture {
  text = '';
  readonly #lines: LineSplitter | undefined;

  constructor(stream: ToolStream, onLine: ToolRunOptions['onLine']) {
    this.#lines = onLine && new LineSplitter((line) => onLine(stream, line));
  }

  push(chunk: string): void {
    if (this.text.length < MAX_CAPTURE) this.text += chunk.slice(0, MAX_CAPTURE - this.text.length);
    this.#lines?.push(chunk);
  }

  end(): void {
    this.#lines?.end();
  }
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

/** How a run ended, for logs: "exit 0 after 1.2 s", "killed: time limit after 600.0 s". */
export function describeExit(run: ToolExit, digits = 1): string {
  const how = run.timedOut
    ? 'killed: time limit'
    : run.aborted
      ? 'killed: interrupted'
      : run.signal
        ? `killed by ${run.signal}`
        : `exit ${run.exitCode}`;
  return `${how} after ${run.seconds.toFixed(digits)} s`;
}
