import type { Pocket } from '../job.js';
import type { PocketDraft } from '../submission.js';
import { MAX_POCKET_EDGE } from './limits.js';
import type { FieldPath, Problems } from './problems.js';

type Vector3 = [number, number, number];

/**
 * The Vina search box, in Å: `center` is any point (x, y, z); `size` holds three edges,
 * each above 0 and at most `MAX_POCKET_EDGE`.
 */
export function validatePocket(problems: Problems, path: FieldPath, draft: PocketDraft): Pocket | null {
  const center = vector3(problems, [...path, 'center'], draft.center, () => null);
  const size = vector3(problems, [...path, 'size'], draft.size, (edge) =>
    edge > 0 && edge <= MAX_POCKET_EDGE ? null : `must be greater than 0 and at most ${MAX_POCKET_EDGE} Å, got ${edge}`,
  );
  return center && size ? { center, size } : null;
}

/** Exactly three finite numbers, each passing `check` (which returns a problem or null). */
function vector3(
  problems: Problems,
  path: FieldPath,
  values: number[] | null | undefined,
  check: (value: number) => string | null,
): Vector3 | null {
  if (!Array.isArray(values) || values.length !== 3) {
    const got = Array.isArray(values) ? `${values.length} ${values.length === 1 ? 'value' : 'values'}` : 'none';
    problems.add(path, `must hold exactly 3 numbers (x, y, z), got ${got}`);
    return null;
  }
  let ok = true;
  values.forEach((value, axis) => {
    const problem =
      typeof value === 'number' && Number.isFinite(value) ? check(value) : `must be a finite number, got ${String(value)}`;
    if (problem !== null) {
      problems.add([...path, axis], problem);
      ok = false;
    }
  });
  return ok ? [values[0]!, values[1]!, values[2]!] : null;
}
