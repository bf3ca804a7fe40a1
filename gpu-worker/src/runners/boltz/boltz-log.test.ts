import { describe, expect, it } from 'vitest';
import { BoltzLog } from './boltz-log.js';
import { logOf, SHARD_LOG } from './test-support.js';

describe('BoltzLog', () => {
  it('follows the stages and takes the reasons of skipped inputs from their lines', () => {
    const log = logOf(SHARD_LOG);
    expect(log.stage).toBe('AFFINITY');
    expect(log.rejection('bad')).toBe("Missing MSA's in input and --use_msa_server flag not set.");
    expect(log.rejection('odd')).toBeUndefined();
    expect(log.outOfMemory('STRUCTURE')).toBe(1);
    expect(log.outOfMemory('AFFINITY')).toBe(0);
    expect(log.skipped('AFFINITY', 'odd')).toBe('Featurizer failed: index 3 is out of bounds');
    expect(log.skipped('STRUCTURE', 'odd')).toBeUndefined();
    expect(log.toString()).toBe(`${SHARD_LOG}\n`);
  });

  it('finds Boltz’s prints glued to Lightning’s progress bar, as a real run prints them', () => {
    const log = logOf(`Running structure prediction for 3 inputs.
Predicting DataLoader 0:   0%|          | 0/3 [00:00<?, ?it/s]| WARNING: ran out of memory, skipping batch
Predicting DataLoader 0:  33%|███▎      | 1/3 [00:20<00:40, 0.05it/s]
Predicting property: affinity
Predicting DataLoader 0:   0%|          | 0/2 [00:00<?, ?it/s]Featurizer failed on odd with error index 3 is out of bounds. Skipping.`);
    expect(log.outOfMemory('STRUCTURE')).toBe(1);
    expect(log.stage).toBe('AFFINITY');
    expect(log.skipped('AFFINITY', 'odd')).toBe('Featurizer failed: index 3 is out of bounds');
  });

  it('keeps the message of the last traceback', () => {
    const log = logOf(`Traceback (most recent call last):
  File "inferencev2.py", line 62, in load_input
FileNotFoundError: [Errno 2] No such file or directory: '/w/out/predictions/x/pre_affinity_x.npz'`);
    expect(log.lastError).toBe(
      "FileNotFoundError: [Errno 2] No such file or directory: '/w/out/predictions/x/pre_affinity_x.npz'",
    );
  });

  it('keeps the start and the end of a runaway log', () => {
    const log = new BoltzLog();
    for (let i = 0; i < 20_000; i += 1) log.add(`line ${i}`);
    const lines = log.toString().trimEnd().split('\n');
    expect(lines[0]).toBe('line 0');
    expect(lines.at(-1)).toBe('line 19999');
    expect(lines.length).toBeLessThan(11_000);
    expect(lines).toContainEqual(expect.stringMatching(/^… \d+ lines omitted …$/));
  });
});
