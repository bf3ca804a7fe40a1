import { describe, expect, it } from 'vitest';
import { ShardMeter } from './shard-meter.js';

const t = (seconds: number) => new Date(Date.UTC(2025, 2, 1) + seconds * 1000);

describe('ShardMeter', () => {
  it("bills each job the runner's time for it and the last one the rest of the shard", () => {
    const meter = new ShardMeter(t(0), 3);
    expect(meter.take(t(40), 10)).toBe(10);
    expect(meter.take(t(51), 10)).toBe(10);
    expect(meter.take(t(63), 10)).toBe(43);
  });

  it('bills the time since the previous job when the runner reports none', () => {
    const meter = new ShardMeter(t(0), 3);
    expect(meter.take(t(5))).toBe(5);
    expect(meter.take(t(12))).toBe(7);
    expect(meter.take(t(12.5))).toBe(0.5);
  });

  it('never bills more than is left unbilled, whatever the runner reports', () => {
    const meter = new ShardMeter(t(0), 3);
    expect(meter.take(t(4), 10)).toBe(4);
    expect(meter.take(t(4), 10)).toBe(0);
    expect(meter.take(t(9), 1)).toBe(5);
  });

  it('gives the rest to the last job billed when others are dropped', () => {
    const meter = new ShardMeter(t(0), 3);
    expect(meter.take(t(30), 10)).toBe(10);
    meter.drop();
    expect(meter.take(t(45), 10)).toBe(35);
  });
});
