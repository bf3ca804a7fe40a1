import { describe, expect, it } from 'vitest';
import type { ParametersDraft } from '../submission.js';
import { PARAMETER_RANGES } from './limits.js';
import { validateParameters } from './parameters.js';
import { Problems } from './problems.js';

function check(draft: ParametersDraft | null) {
  const problems = new Problems();
  return { parameters: validateParameters(problems, ['input', 'parameters'], draft), invalid: problems.list };
}

describe('validateParameters', () => {
  it('gives every key, null where unset', () => {
    expect(check(null).parameters).toEqual({
      seed: null,
      diffusionSamples: null,
      samplingSteps: null,
      recyclingSteps: null,
      useMsaServer: null,
      exhaustiveness: null,
      numPoses: null,
    });
  });

  const bounds = Object.entries(PARAMETER_RANGES) as [keyof typeof PARAMETER_RANGES, { min: number; max: number }][];

  it.each(bounds)('accepts %s at both ends of its range', (key, { min, max }) => {
    expect(check({ [key]: min }).parameters[key]).toBe(min);
    expect(check({ [key]: max }).parameters[key]).toBe(max);
  });

  it.each(bounds)('refuses %s just outside its range, saying the range', (key, { min, max }) => {
    expect(check({ [key]: min - 1 }).invalid).toEqual([
      { path: ['input', 'parameters', key], message: `must be between ${min} and ${max}, got ${min - 1}` },
    ]);
    expect(check({ [key]: max + 1 }).invalid).toEqual([
      { path: ['input', 'parameters', key], message: `must be between ${min} and ${max}, got ${max + 1}` },
    ]);
  });

  it.each(bounds)('refuses a fraction for %s', (key, { min, max }) => {
    expect(check({ [key]: min + 0.5 }).invalid).toEqual([
      { path: ['input', 'parameters', key], message: `must be a whole number between ${min} and ${max}, got ${min + 0.5}` },
    ]);
  });

  it('lists every bad parameter at once', () => {
    const { invalid } = check({ exhaustiveness: 0, numPoses: 21, seed: -1, useMsaServer: true });
    expect(invalid.map((p) => p.path.at(-1))).toEqual(['seed', 'exhaustiveness', 'numPoses']);
    expect(invalid[1]!.message).toBe('must be between 1 and 64, got 0');
  });
});
