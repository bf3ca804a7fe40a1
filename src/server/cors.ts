import type { IncomingMessage, ServerResponse } from 'node:http';

const ALLOW_METHODS = 'GET, POST, OPTIONS';
const ALLOW_HEADERS = 'authorization, content-type, accept, apollo-require-preflight, x-apollo-operation-name, x-request-id';
const EXPOSE_HEADERS = 'x-request-id, retry-after, www-authenticate';

/**
 * CORS for browser clients on other origins, from an allowlist (`OMTX_CORS_ORIGINS`).
 * Credentials travel in the `Authorization` header, never in cookies, so no answer carries
 * `Access-Control-Allow-Credentials`; `*` (allowed only alone) is therefore safe to send.
 * Answers a preflight itself (204, or 403 for an origin not listed) and returns true;
 * otherwise adds the headers for an allowed origin and returns false.
 */
export function handleCors(req: IncomingMessage, res: ServerResponse, origins: readonly string[]): boolean {
  const origin = req.headers.origin;
  const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
  if (origin === undefined) return false;
  res.setHeader('vary', 'Origin');
  const any = origins.includes('*');
  const allowed = any || origins.includes(origin);
  if (allowed) {
    res.setHeader('access-control-allow-origin', any ? '*' : origin);
    res.setHeader('access-control-expose-headers', EXPOSE_HEADERS);
  }
  if (!preflight) return false;
  if (!allowed) {
    res
      .writeHead(403, { 'content-type': 'text/plain; charset=utf-8' })
      .end(`origin ${origin} is not allowed (OMTX_CORS_ORIGINS)\n`);
    return true;
  }
  res.writeHead(204, {
    'access-control-allow-methods': ALLOW_METHODS,
    'access-control-allow-headers': ALLOW_HEADERS,
    'access-control-max-age': '600',
  });
  res.end();
  return true;
}
