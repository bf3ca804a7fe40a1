import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobInfo } from '../ports/blob-store.js';

/**
 * What the route needs from a blob store: signature checks and streaming reads.
 * `FsBlobStore` provides both; stores whose URLs point elsewhere (GCS) need no route.
 */
export interface SignedArtifactSource {
  verifySignedRequest(key: string, expires: string | null, signature: string | null, now?: Date): 'valid' | 'invalid' | 'expired';
  open(key: string): Promise<{ info: BlobInfo; stream: Readable } | null>;
}

/** Options for {@link serveArtifact}. */
export interface ServeArtifactOptions {
  /** @default '/artifacts' */
  pathPrefix?: string;
  /** Injectable clock for tests. @default () => new Date() */
  now?: () => Date;
}

function sendText(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(`${message}\n`);
}

/** `attachment; filename="…"` with an ASCII fallback and the exact UTF-8 name (RFC 6266). */
export function contentDisposition(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * Serves `GET|HEAD /artifacts/<key>?expires=…&signature=…`, the signed URLs of the
 * filesystem BlobStore. Returns false, without touching `res`, for other paths.
 *
 * - 403 when the signature is missing, malformed or does not match (key, expiry
 *   or signature altered, or signed with another secret);
 * - 410 Gone when a genuine link has expired: the signature is checked first, so
 *   only a link we issued gets here, and 410 tells the client to ask the API for
 *   a fresh URL rather than report a permissions problem;
 * - 404 when a valid link names a blob that no longer exists;
 * - else 200 with the stored content type, Content-Length and
 *   `Content-Disposition: attachment`.
 */
export async function serveArtifact(
  req: IncomingMessage,
  res: ServerResponse,
  blobStore: SignedArtifactSource,
  options: ServeArtifactOptions = {},
): Promise<boolean> {
  const prefix = `${options.pathPrefix ?? '/artifacts'}/`;
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (!url.pathname.startsWith(prefix)) return false;

  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendText(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
    return true;
  }

  let key: string;
  try {
    key = url.pathname.slice(prefix.length).split('/').map(decodeURIComponent).join('/');
  } catch {
    sendText(res, 400, 'malformed artifact path');
    return true;
  }

  const now = options.now?.() ?? new Date();
  const check = blobStore.verifySignedRequest(key, url.searchParams.get('expires'), url.searchParams.get('signature'), now);
  if (check === 'invalid') {
    sendText(res, 403, 'invalid artifact link signature');
    return true;
  }
  if (check === 'expired') {
    sendText(res, 410, 'artifact link expired; request a new one from the API');
    return true;
  }

  const blob = await blobStore.open(key);
  if (!blob) {
    sendText(res, 404, 'artifact not found');
    return true;
  }
  // Cacheable privately until the link itself expires.
  const maxAge = Math.max(0, Number(url.searchParams.get('expires')) - Math.floor(now.getTime() / 1000));
  res.writeHead(200, {
    'content-type': blob.info.contentType,
    'content-length': String(blob.info.sizeBytes),
    'content-disposition': contentDisposition(key),
    'cache-control': `private, max-age=${maxAge}`,
    'x-content-type-options': 'nosniff',
  });
  if (req.method === 'HEAD') {
    blob.stream.destroy(); // closes the file without reading it
    res.end();
    return true;
  }
  // pipeline destroys the file stream (closing its fd) if the client goes away.
  await pipeline(blob.stream, res).catch(() => undefined);
  return true;
}
