import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** The files `scripts/build-graphiql.mjs` writes, and the only ones served. */
export const GRAPHIQL_ASSET_NAMES = ['graphiql.js', 'graphiql.css'] as const;
export type GraphiqlAssetName = (typeof GRAPHIQL_ASSET_NAMES)[number];

/** One bundled file held in memory, with what its HTTP response needs. */
export interface GraphiqlAsset {
  name: GraphiqlAssetName;
  contentType: string;
  body: Buffer;
  /** Compressed once at load; the JS bundle shrinks from ~1.2 MB to ~350 kB. */
  gzipped: Buffer;
  /** Short content hash: the `?v=` cache buster in the page and the ETag. */
  version: string;
}

const CONTENT_TYPES: Record<GraphiqlAssetName, string> = {
  'graphiql.js': 'text/javascript; charset=utf-8',
  'graphiql.css': 'text/css; charset=utf-8',
};

interface CacheEntry {
  mtimeMs: number;
  size: number;
  asset: GraphiqlAsset;
}

// Keyed by absolute file path. Reloaded when the file's mtime or size changes, so a
// rebuild during development shows up without restarting the server.
const cache = new Map<string, CacheEntry>();

/**
 * Loads a bundled asset from `assetsDir`, or null when it has not been built.
 * Cheap after the first call: one `stat` per request.
 */
export async function loadGraphiqlAsset(assetsDir: string, name: GraphiqlAssetName): Promise<GraphiqlAsset | null> {
  const path = join(assetsDir, name);
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const cached = cache.get(path);
  if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached.asset;

  const body = await readFile(path);
  const asset: GraphiqlAsset = {
    name,
    contentType: CONTENT_TYPES[name],
    body,
    gzipped: gzipSync(body, { level: 9 }),
    version: createHash('sha256').update(body).digest('hex').slice(0, 16),
  };
  cache.set(path, { mtimeMs: info.mtimeMs, size: info.size, asset });
  return asset;
}
