import { InvalidCursorError } from '../domain/errors.js';

/**
 * Cursors are opaque to clients: base64url of the ordering's name and the sort key of the
 * item. Stores build them; the ordering name makes a cursor from another ordering an error
 * instead of a silently wrong page.
 */
export function encodeCursor(ordering: string, values: unknown[]): string {
  return Buffer.from(JSON.stringify([ordering, ...values])).toString('base64url');
}

export function decodeCursor(cursor: string, ordering: string, argument: 'after' | 'before'): unknown[] {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError(argument, cursor, 'it is not a cursor this API issued');
  }
  if (!Array.isArray(decoded) || decoded.length < 1)
    throw new InvalidCursorError(argument, cursor, 'it is not a cursor this API issued');
  if (decoded[0] !== ordering) throw new InvalidCursorError(argument, cursor, 'it belongs to another list or ordering');
  return decoded.slice(1);
}
