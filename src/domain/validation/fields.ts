import { MAX_NAME_LENGTH } from './limits.js';
import { type FieldPath, type Problems } from './problems.js';

/**
 * An optional display name: trimmed, blank means none. Names may repeat (two ligands may
 * share a name); they label results, they do not identify them.
 */
export function optionalName(problems: Problems, path: FieldPath, value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const name = value.trim();
  if (name.length > MAX_NAME_LENGTH) {
    problems.add(path, `must be at most ${MAX_NAME_LENGTH} characters, got ${name.length}`);
  }
  return name === '' ? null : name;
}

/** A required display name (a batch's): trimmed, not blank, not too long. */
export function requiredName(problems: Problems, path: FieldPath, value: string | null | undefined): string {
  const name = (value ?? '').trim();
  if (name === '') problems.add(path, 'must not be empty');
  else if (name.length > MAX_NAME_LENGTH) {
    problems.add(path, `must be at most ${MAX_NAME_LENGTH} characters, got ${name.length}`);
  }
  return name;
}

/**
 * An optional integer within `[min, max]`. GraphQL `Int` already refuses fractions, but the
 * domain is also called from the CLI and from JSON bodies, so it checks again.
 */
export function optionalInteger(
  problems: Problems,
  path: FieldPath,
  value: number | null | undefined,
  { min, max }: { min: number; max: number },
): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    problems.add(path, `must be a whole number between ${min} and ${max}, got ${String(value)}`);
    return null;
  }
  if (value < min || value > max) {
    problems.add(path, `must be between ${min} and ${max}, got ${value}`);
    return null;
  }
  return value;
}
