import type { BlobInfo } from '../src/ports/blob-store.js';
import type { Context } from './context.js';

/** Per request: a page of 100 batch children asking for their batch's MSA costs one lookup. */
const seen = new WeakMap<Context, Map<string, Promise<BlobInfo | null>>>();

/** `blobs.stat(key)`, asked once per key per request. */
export function statOnce(ctx: Context, key: string): Promise<BlobInfo | null> {
  let byKey = seen.get(ctx);
  if (!byKey) {
    byKey = new Map();
    seen.set(ctx, byKey);
  }
  let stat = byKey.get(key);
  if (!stat) {
    stat = ctx.app.blobs.stat(key);
    byKey.set(key, stat);
  }
  return stat;
}
