import type { JobError } from '../../../../src/domain/job.js';
import type { ToolExit } from '../process.js';
import type { BoltzLog } from './boltz-log.js';

/** What is known of an input that has no complete prediction. */
export interface MissingOutput {
  stem: string;
  /** The structure stage wrote its best model (so only the affinity is missing). */
  hasStructure: boolean;
  /** How the process ended; null while it still runs (the structure stage is over). */
  run: ToolExit | null;
  timeLimitMs: number;
}

/**
 * Why an input has no prediction, from Boltz's log and how the process ended. Boltz exits 0
 * after skipping an input, so the log decides:
 *
 * - refused or skipped by name (bad input): fails for good, with Boltz's reason;
 * - out of GPU memory: fails for good too. The same complex on the same GPU runs out again,
 *   and a retry would take its shard down with it: Boltz's affinity stage then crashes on the
 *   input's missing structure (FileNotFoundError on pre_affinity_<id>.npz), costing the other
 *   inputs an attempt each time. The message says what to lower.
 * - the process killed (time limit, worker stopping, someone else's signal) or crashed
 *   (the affinity stage's FileNotFoundError above among others): retried; a retry runs only
 *   the inputs not done yet.
 */
export function missingOutputError(log: BoltzLog, missing: MissingOutput): JobError {
  const { stem, hasStructure, run } = missing;
  const rejected = log.rejection(stem);
  if (rejected !== undefined) {
    return {
      code: 'BOLTZ_INPUT_REJECTED',
      message: `Boltz could not read this input: ${rejected || 'no reason given'} (see log.txt)`,
      retryable: false,
    };
  }
  const skipped = hasStructure ? log.skipped('AFFINITY', stem) : log.skipped('STRUCTURE', stem);
  if (skipped !== undefined) {
    return {
      code: hasStructure ? 'BOLTZ_AFFINITY_FAILED' : 'BOLTZ_INPUT_REJECTED',
      message: `Boltz skipped this input${hasStructure ? ' in its affinity stage' : ''}: ${skipped}`,
      retryable: false,
    };
  }
  const stage = hasStructure ? 'AFFINITY' : 'STRUCTURE';
  const stageOver = hasStructure ? run?.exitCode === 0 : log.stage === 'AFFINITY' || run?.exitCode === 0;
  if (stageOver && log.outOfMemory(stage) > 0) {
    return {
      code: 'OUT_OF_MEMORY',
      message:
        `the GPU ran out of memory predicting this complex${hasStructure ? "'s affinity" : ''}; ` +
        'lower diffusionSamples, or shorten the protein to the domain around the pocket',
      retryable: false,
    };
  }
  if (!hasStructure && log.lastError?.includes(`pre_affinity_${stem}.npz`)) {
    // This input's structure never came (out of memory, with the warning lost in the log):
    // the affinity stage crashed on it, and it would crash its next shard the same way.
    return {
      code: 'OUT_OF_MEMORY',
      message:
        'Boltz produced no structure for this complex (most likely the GPU ran out of memory) and its affinity stage crashed on it; ' +
        'lower diffusionSamples, or shorten the protein to the domain around the pocket',
      retryable: false,
    };
  }
  const what = hasStructure ? "this ligand's affinity (its structure was done)" : 'this ligand';
  if (run?.aborted) {
    return {
      code: 'INTERRUPTED',
      message: `Boltz was stopped (the worker stopped) before finishing ${what}; the job will be retried`,
      retryable: true,
    };
  }
  if (run?.timedOut) {
    return {
      code: 'TIME_LIMIT',
      message:
        `Boltz ran past the shard's ${missing.timeLimitMs / 1000} s limit before finishing ${what}; ` +
        'the job will be retried in a shard of the ligands not done yet',
      retryable: true,
    };
  }
  if (run?.signal) {
    // Not our kill: the OOM killer or a node shutdown.
    return {
      code: 'TOOL_KILLED',
      message: `Boltz was killed by ${run.signal} before finishing ${what}; the job will be retried`,
      retryable: true,
    };
  }
  if (run && run.exitCode !== 0) {
    const crash = log.lastError ? `: ${log.lastError}` : '';
    return {
      code: 'BOLTZ_CRASHED',
      message: `Boltz crashed (exit ${run.exitCode}${crash}) before finishing ${what}; the job will be retried`,
      retryable: true,
    };
  }
  return {
    code: 'BOLTZ_NO_OUTPUT',
    message: `Boltz ${run ? 'finished' : 'ended its structure stage'} without writing ${what} and gave no reason (see log.txt); the job will be retried`,
    retryable: true,
  };
}
