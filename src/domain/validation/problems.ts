import type { InvalidField } from '../errors.js';

/** Where a value sits in the submission, starting with `"input"`. */
export type FieldPath = readonly (string | number)[];

/**
 * Collects every problem of a submission. Validators append and carry on, so a user sees
 * all of them in one answer instead of fixing one per round trip.
 */
export class Problems {
  readonly list: InvalidField[] = [];

  add(path: FieldPath, message: string): void {
    this.list.push({ path: [...path], message });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }
}

/** `"ABC…"` for messages: quotes a user's value, cut short so one bad field stays readable. */
export function quote(value: string, max = 40): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}
