/**
 * What every BlobStore accepts as a key and a content type, checked the same way by each
 * adapter before anything is written: keys are clean relative paths (DESIGN.md's layout),
 * content types are media types that are safe to put in a response header.
 */

/** Thrown for a key that is not a clean relative path inside the store. */
export class InvalidBlobKeyError extends Error {
  readonly code = 'BLOB.INVALID_KEY';
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(
      `invalid blob key ${JSON.stringify(key)}: ${reason}; expected a relative path like "batches/{id}/jobs/{id}/results.json"`,
    );
  }
}

// A media type with optional parameters; anything else (CR/LF above all) would
// end up in a Content-Type response header.
const CONTENT_TYPE = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(\s*;\s*[\w!#$&^.+-]+=("[^"\r\n]*"|[\w!#$&^.+-]+))*$/;

export function isValidContentType(contentType: string): boolean {
  return CONTENT_TYPE.test(contentType);
}

/** Throws unless `contentType` is type/subtype with optional ;name=value parameters (no CR/LF). */
export function assertValidContentType(key: string, contentType: string): void {
  if (!CONTENT_TYPE.test(contentType)) {
    throw new Error(
      `invalid content type ${JSON.stringify(contentType)} for blob ${key}: expected type/subtype with optional ;name=value parameters`,
    );
  }
}

/**
 * Throws {@link InvalidBlobKeyError} unless `key` is `segment/segment/…` with no
 * empty, `.` or `..` segment, no leading slash, no backslash and no control
 * character, so that joining it under the root can never leave the root.
 */
export function assertValidBlobKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidBlobKeyError(String(key), 'empty');
  if (key.length > 1024) throw new InvalidBlobKeyError(key, 'longer than 1024 characters');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new InvalidBlobKeyError(key, 'contains a control character (NUL, newline, …)');
  if (key.includes('\\')) throw new InvalidBlobKeyError(key, 'contains a backslash');
  if (key.startsWith('/') || /^[a-z]:/i.test(key)) throw new InvalidBlobKeyError(key, 'is absolute');
  for (const segment of key.split('/')) {
    if (segment === '') throw new InvalidBlobKeyError(key, 'has an empty segment (leading, trailing or double slash)');
    if (segment === '.' || segment === '..') throw new InvalidBlobKeyError(key, `has a "${segment}" segment`);
  }
}
