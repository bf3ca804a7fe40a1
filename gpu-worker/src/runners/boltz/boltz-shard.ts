import { setTimeout as sleep } from 'node:timers/promises';
import type { JobError } from '../../../../src/domain/job.js';
import { toJobError } from '../failure.js';
import { describeExit, runTool, type ToolExit } from '../process.js';
import type { LigandReport, RunnerFile } from '../runner.js';
import { INPUT_DIR_NAME, type BoltzInput } from './boltz-input.js';
import { BoltzLog } from './boltz-log.js';
import { missingOutputError } from './boltz-failures.js';
import { hasStructure, predictionDir, predictionFiles, readPrediction } from './boltz-outputs.js';
import { boltzResult } from './boltz-result.js';

/** One `boltz predict` over a shard's inputs, ready to start. */
export interface ShardPrediction {
  boltzPath: string;
  args: string[];
  cwd: string;
  /** `--out_dir`. */
  outDir: string;
  inputs: BoltzInput[];
  timeLimitMs: number;
  pollIntervalMs: number;
  signal?: AbortSignal;
  /**
   * Asked every `stopCheckMs` while inputs are pending: true when every one of them was
   * cancelled, and then the process is killed (nothing it would still write is wanted).
   */
  allStopped?: (jobIds: string[]) => Promise<boolean>;
  stopCheckMs?: number;
  provenance: Record<string, unknown>;
}

/**
 * Runs `boltz predict` once for the whole shard (the weights load once) and reports each input
 * as soon as its prediction is complete, by watching the predictions folder while the process
 * runs. An input without a prediction is reported when it can no longer get one: when the
 * affinity stage starts for an input without a structure, otherwise when the process ends.
 *
 * `runtimeSeconds` of a report is the time since the previous report (the first includes
 * loading the model), so a shard's reports add up to the process's wall time.
 *
 * Ending the iteration early kills the process (and its helpers), and so does every pending
 * input being cancelled (`allStopped`): the cancelled ones get no report.
 */
export async function* predictShard(shard: ShardPrediction): AsyncGenerator<LigandReport> {
  const log = new BoltzLog();
  const cleanup = new AbortController();
  const signal = shard.signal ? AbortSignal.any([shard.signal, cleanup.signal]) : cleanup.signal;
  let ended: ToolExit | null = null;
  let notStarted: unknown = null;
  let lastReport = performance.now();
  const exited = runTool(shard.boltzPath, shard.args, {
    cwd: shard.cwd,
    timeLimitMs: shard.timeLimitMs,
    signal,
    // Python block-buffers a piped stdout: without this the lines would come in 8 KiB lumps, or at exit.
    env: { PYTHONUNBUFFERED: '1' },
    onLine: (_stream, line) => log.add(line),
  }).then(
    (run) => void (ended = run),
    (error: unknown) => void (notStarted = error ?? 'unknown error'),
  );
  const since = () => {
    const now = performance.now();
    const seconds = (now - lastReport) / 1000;
    lastReport = now;
    return seconds;
  };
  const ligandLog = (input: BoltzInput, note: string) =>
    `$ ${[shard.boltzPath, ...shard.args].join(' ')}\n# input ${input.stem}.yaml (job ${input.job.id}):\n${input.yaml}` +
    `# Boltz's output for the shard${ended ? '' : ', so far'}:\n${log}${ended ? `# ${describeExit(ended)}\n` : ''}${note}`;
  const failed = (input: BoltzInput, error: JobError): LigandReport => ({
    jobId: input.job.id,
    outcome: {
      ok: false,
      error,
      files: [logFile(ligandLog(input, `# ${error.code}: ${error.message}\n`))],
      runtimeSeconds: since(),
    },
  });

  const pending = new Map(shard.inputs.map((input) => [input.stem, input]));
  let lastStopCheck = performance.now();
  try {
    while (pending.size > 0) {
      if (shard.allStopped && performance.now() - lastStopCheck >= (shard.stopCheckMs ?? 5_000)) {
        lastStopCheck = performance.now();
        if (await shard.allStopped([...pending.values()].map((input) => input.job.id))) return;
      }
      // Read before looking at the files: whatever a process that has ended wrote is there.
      const end = ended as ToolExit | null;
      if (notStarted !== null) {
        for (const input of pending.values()) yield failed(input, toJobError(notStarted));
        return;
      }
      for (const input of pending.values()) {
        const dir = predictionDir(shard.outDir, INPUT_DIR_NAME, input.stem);
        const prediction = await readPrediction(dir, input.stem);
        if (prediction) {
          pending.delete(input.stem);
          const result = boltzResult(prediction, shard.provenance);
          const summary = {
            jobId: input.job.id,
            ligand: {
              name: input.job.ligand.name,
              smiles: input.job.ligand.smiles,
              canonicalSmiles: input.job.ligand.canonicalSmiles,
            },
            ...result,
          };
          const files: RunnerFile[] = [
            ...predictionFiles(prediction),
            { name: 'results.json', contentType: 'application/json', body: `${JSON.stringify(summary, null, 2)}\n` },
            logFile(ligandLog(input, '')),
          ];
          yield { jobId: input.job.id, outcome: { ok: true, result, files, runtimeSeconds: since() } };
          continue;
        }
        // Once Boltz predicts affinities, every structure it was going to write is written.
        if (end || log.stage === 'AFFINITY') {
          const structure = await hasStructure(dir, input.stem);
          if (end || !structure) {
            pending.delete(input.stem);
            const error = missingOutputError(log, {
              stem: input.stem,
              hasStructure: structure,
              run: end,
              timeLimitMs: shard.timeLimitMs,
            });
            yield failed(input, error);
          }
        }
      }
      if (pending.size > 0) await Promise.race([exited, sleep(shard.pollIntervalMs)]);
    }
  } finally {
    cleanup.abort();
    await exited;
  }
}

/** The `log.txt` a ligand's outcome carries. */
export function logFile(body: string): RunnerFile {
  return { name: 'log.txt', contentType: 'text/plain; charset=utf-8', body };
}
