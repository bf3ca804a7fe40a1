import { createHash } from 'node:crypto';

/** 128 bits of SHA-256: no two of our names meet in practice, and ids stay short in logs. */
const TASK_ID_HEX_CHARS = 32;

/**
 * The Cloud Tasks task id for a caller's de-duplication name: a hex prefix of its SHA-256.
 * Cloud Tasks spreads tasks over its backends by name, and sequential names (job ids that
 * share a prefix, counters) concentrate load and lower the create rate; a hash spreads them
 * evenly while the same name always gives the same id, so de-duplication still works.
 */
export function cloudTaskId(name: string): string {
  return createHash('sha256').update(name, 'utf8').digest('hex').slice(0, TASK_ID_HEX_CHARS);
}
