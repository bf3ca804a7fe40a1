import { UsageError } from './usage-error.js';

export type Vec3 = [number, number, number];

/** A Vina docking box in Å. */
export interface Pocket {
  center: Vec3;
  size: Vec3;
}

const KEYS = ['center_x', 'center_y', 'center_z', 'size_x', 'size_y', 'size_z'] as const;

/**
 * Reads Vina's config format (`center_x = 15.190` per line, `#` comments) and keeps the six
 * box keys; other Vina settings in the file are ignored. `flag` names the source in errors.
 */
export function parseVinaBox(text: string, flag: string): Pocket {
  const values = new Map<string, number>();
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const match = /^([A-Za-z_]+)\s*=\s*(\S+)$/.exec(line);
    if (!match) throw new UsageError(flag, `line ${n + 1} is not "key = value": ${JSON.stringify(raw)}`);
    const [, key, value] = match;
    if (!(KEYS as readonly string[]).includes(key!)) continue;
    const number = Number(value);
    if (!Number.isFinite(number)) throw new UsageError(flag, `line ${n + 1}: ${key} is not a number: ${value}`);
    values.set(key!, number);
  }
  const missing = KEYS.filter((k) => !values.has(k));
  if (missing.length > 0) throw new UsageError(flag, `missing ${missing.join(', ')} (Vina box format: center_x = …, size_x = …)`);
  const [cx, cy, cz, sx, sy, sz] = KEYS.map((k) => values.get(k)!) as [number, number, number, number, number, number];
  return checkPocket({ center: [cx, cy, cz], size: [sx, sy, sz] }, flag);
}

/** Parses `x,y,z` (three finite numbers) from a flag's value. */
export function parseVec3(value: string, flag: string): Vec3 {
  const parts = value.split(',').map((p) => p.trim());
  const numbers = parts.map(Number);
  if (parts.length !== 3 || parts.some((p) => p === '') || !numbers.every(Number.isFinite)) {
    throw new UsageError(flag, `expected three numbers as x,y,z (e.g. 15.19,53.9,16.92), got ${JSON.stringify(value)}`);
  }
  return numbers as Vec3;
}

/** Sides must be positive; the api checks the upper limit (30 Å). */
export function checkPocket(pocket: Pocket, flag: string): Pocket {
  if (pocket.size.some((s) => s <= 0)) throw new UsageError(flag, `box sides must be > 0 Å, got ${pocket.size.join(',')}`);
  return pocket;
}
