import { inputFailure, transientFailure } from '../failure.js';
import { describeExit, runTool, type ToolRun } from '../process.js';

/** What the Vina pipeline steps share: the executables, limits and the ligand's log. */
export interface ToolContext {
  vina: string;
  obabel: string;
  /** Per Open Babel call. */
  obabelTimeLimitMs: number;
  signal?: AbortSignal;
  log: RunLog;
}

/** The text that becomes `log.txt`: each command with its output. */
export class RunLog {
  readonly #parts: string[] = [];

  note(text: string): void {
    this.#parts.push(text.endsWith('\n') ? text : `${text}\n`);
  }

  command(file: string, args: readonly string[], run: ToolRun): void {
    this.note(`$ ${[file, ...args].join(' ')}\n# ${describeExit(run, 2)}`);
    if (run.stdout.trim()) this.note(run.stdout);
    if (run.stderr.trim()) this.note(run.stderr);
  }

  toString(): string {
    return this.#parts.join('');
  }
}

/**
 * Runs Open Babel. It exits 0 even when it converted nothing, so callers must check its
 * output; this only turns kills into errors. `what` names the step for messages.
 */
export async function obabel(context: ToolContext, args: string[], cwd: string, what: string): Promise<ToolRun> {
  const run = await runTool(context.obabel, args, { cwd, timeLimitMs: context.obabelTimeLimitMs, signal: context.signal });
  context.log.command(context.obabel, args, run);
  throwIfKilled(run, what, `Open Babel took longer than ${context.obabelTimeLimitMs / 1000} s`);
  return run;
}

/** Kills are judged the same way for every tool: ours (time limit, abort) or someone else's. */
export function throwIfKilled(run: ToolRun, what: string, timeLimitMessage: string): void {
  if (run.aborted) throw transientFailure('INTERRUPTED', `${what} was interrupted (the worker stopped); the job will be retried`);
  if (run.timedOut) throw inputFailure('TIME_LIMIT', `${what}: ${timeLimitMessage}`);
  if (run.signal) {
    // Not our kill: the OOM killer or a node shutdown. Another attempt may well succeed.
    throw transientFailure('TOOL_KILLED', `${what}: the process was killed by ${run.signal}; the job will be retried`);
  }
  if (/no space left on device/i.test(run.stderr) || /bad_alloc|out of memory/i.test(run.stderr)) {
    throw transientFailure('WORKER_RESOURCES', `${what}: the worker ran out of disk or memory; the job will be retried`);
  }
}

/** Open Babel's own count, from "N molecule(s) converted" on stderr; null when absent. */
export function moleculesConverted(run: ToolRun): number | null {
  const match = /(\d+) molecules? converted/.exec(run.stderr);
  return match ? Number(match[1]) : null;
}

/** The first lines Open Babel printed as errors or warnings, for a message. */
export function obabelComplaint(run: ToolRun): string {
  const lines = run.stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('===') && !line.startsWith('***') && !/molecules? converted/.test(line));
  return lines.slice(0, 2).join('; ');
}
