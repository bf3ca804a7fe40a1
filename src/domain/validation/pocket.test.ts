import { describe, expect, it } from 'vitest';
import type { PocketDraft } from '../submission.js';
import { validatePocket } from './pocket.js';
import { Problems } from './problems.js';

const PATH = ['input', 'protein', 'pocket'];

function check(draft: PocketDraft) {
  const problems = new Problems();
  return { pocket: validatePocket(problems, PATH, draft), invalid: problems.list };
}

describe('validatePocket', () => {
  it('accepts the 1IEP box', () => {
    expect(check({ center: [15.19, 53.903, 16.917], size: [20, 20, 20] }).pocket).toEqual({
      center: [15.19, 53.903, 16.917],
      size: [20, 20, 20],
    });
  });

  it('refuses an edge of 0 Å or above 30 Å, naming the axis', () => {
    expect(check({ center: [0, 0, 0], size: [20, 0, 31] }).invalid).toEqual([
      { path: [...PATH, 'size', 1], message: 'must be greater than 0 and at most 30 Å, got 0' },
      { path: [...PATH, 'size', 2], message: 'must be greater than 0 and at most 30 Å, got 31' },
    ]);
    expect(check({ center: [0, 0, 0], size: [30, 30, 30] }).invalid).toEqual([]);
  });

  it('refuses vectors without exactly three values', () => {
    expect(check({ center: [1, 2], size: [20, 20] }).invalid).toEqual([
      { path: [...PATH, 'center'], message: 'must hold exactly 3 numbers (x, y, z), got 2 values' },
      { path: [...PATH, 'size'], message: 'must hold exactly 3 numbers (x, y, z), got 2 values' },
    ]);
  });

  it('refuses numbers that are not finite', () => {
    expect(check({ center: [Number.NaN, 0, Infinity], size: [20, 20, 20] }).invalid).toEqual([
      { path: [...PATH, 'center', 0], message: 'must be a finite number, got NaN' },
      { path: [...PATH, 'center', 2], message: 'must be a finite number, got Infinity' },
    ]);
  });
});
