import { describe, expect, it } from 'vitest';
import type { ToolExit } from '../process.js';
import { missingOutputError } from './boltz-failures.js';
import { logOf, SHARD_LOG } from './test-support.js';

const exited = (exitCode: number): ToolExit => ({ exitCode, signal: null, timedOut: false, aborted: false, seconds: 1 });

describe('missingOutputError', () => {
  const timeLimitMs = 60_000;

  it('fails a refused input for good with Boltz’s reason', () => {
    const error = missingOutputError(logOf(SHARD_LOG), { stem: 'bad', hasStructure: false, run: null, timeLimitMs });
    expect(error).toEqual({
      code: 'BOLTZ_INPUT_REJECTED',
      message: "Boltz could not read this input: Missing MSA's in input and --use_msa_server flag not set. (see log.txt)",
      retryable: false,
    });
  });

  it('fails an input out of GPU memory for good, saying what to lower', () => {
    const error = missingOutputError(logOf(SHARD_LOG), { stem: 'big', hasStructure: false, run: null, timeLimitMs });
    expect(error).toMatchObject({ code: 'OUT_OF_MEMORY', retryable: false });
    expect(error.message).toMatch(/lower diffusionSamples/);
  });

  it('fails an input the affinity stage skipped by name for good', () => {
    const error = missingOutputError(logOf(SHARD_LOG), { stem: 'odd', hasStructure: true, run: exited(0), timeLimitMs });
    expect(error).toEqual({
      code: 'BOLTZ_AFFINITY_FAILED',
      message: 'Boltz skipped this input in its affinity stage: Featurizer failed: index 3 is out of bounds',
      retryable: false,
    });
  });

  it('retries an input whose affinity a crash left undone, naming the crash', () => {
    const log = logOf(`${SHARD_LOG}\nFileNotFoundError: [Errno 2] No such file or directory: 'pre_affinity_big.npz'`);
    const error = missingOutputError(log, { stem: 'fine', hasStructure: true, run: exited(1), timeLimitMs });
    expect(error).toEqual({
      code: 'BOLTZ_CRASHED',
      message:
        "Boltz crashed (exit 1: FileNotFoundError: [Errno 2] No such file or directory: 'pre_affinity_big.npz') " +
        "before finishing this ligand's affinity (its structure was done); the job will be retried",
      retryable: true,
    });
  });

  it('fails for good the input the affinity stage crashed on, even when its out-of-memory line was lost', () => {
    const log = logOf(`Running structure prediction for 2 inputs.
Predicting property: affinity
FileNotFoundError: [Errno 2] No such file or directory: '/w/out/boltz_results_inputs/predictions/big/pre_affinity_big.npz'`);
    const culprit = missingOutputError(log, { stem: 'big', hasStructure: false, run: exited(1), timeLimitMs });
    expect(culprit).toMatchObject({ code: 'OUT_OF_MEMORY', retryable: false });
    const bystander = missingOutputError(log, { stem: 'fine', hasStructure: true, run: exited(1), timeLimitMs });
    expect(bystander).toMatchObject({ code: 'BOLTZ_CRASHED', retryable: true });
  });

  it('retries an input Boltz dropped without a word', () => {
    const error = missingOutputError(logOf('Running structure prediction for 1 input.'), {
      stem: 'quiet',
      hasStructure: false,
      run: exited(0),
      timeLimitMs,
    });
    expect(error).toMatchObject({ code: 'BOLTZ_NO_OUTPUT', retryable: true });
  });

  it('retries what a kill left undone: time limit, worker stopping, someone else’s signal', () => {
    const log = logOf('Running structure prediction for 1 input.');
    const missing = { stem: 'x', hasStructure: false, timeLimitMs };
    expect(missingOutputError(log, { ...missing, run: { ...exited(0), exitCode: null, timedOut: true } })).toMatchObject({
      code: 'TIME_LIMIT',
      message: expect.stringContaining("ran past the shard's 60 s limit"),
      retryable: true,
    });
    expect(missingOutputError(log, { ...missing, run: { ...exited(0), exitCode: null, aborted: true } })).toMatchObject({
      code: 'INTERRUPTED',
      retryable: true,
    });
    expect(missingOutputError(log, { ...missing, run: { ...exited(0), exitCode: null, signal: 'SIGKILL' } })).toMatchObject({
      code: 'TOOL_KILLED',
      retryable: true,
    });
  });
});
