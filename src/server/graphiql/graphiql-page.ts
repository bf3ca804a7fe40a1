import type { IncomingMessage, ServerResponse } from 'node:http';
import { GRAPHIQL_ASSET_NAMES, loadGraphiqlAsset, type GraphiqlAsset, type GraphiqlAssetName } from './graphiql-assets.js';
import { prefersHtml } from './prefers-html.js';

/** Where the bundle lives and where GraphQL is served. */
export interface GraphiqlOptions {
  /** Directory holding `graphiql.js` and `graphiql.css`, the output of `scripts/build-graphiql.mjs`. */
  assetsDir: string;
  /** Path of the GraphQL endpoint; the page posts queries and opens its socket here. @default '/graphql' */
  graphqlPath?: string;
  /** @default 'OMTX-Hub GraphiQL' */
  title?: string;
}

/** Versioned asset URLs never change content, so browsers may keep them for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

function requestUrl(req: IncomingMessage): URL {
  // Only the path and query matter here; the base is a placeholder.
  return new URL(req.url ?? '/', 'http://localhost');
}

function isGetOrHead(req: IncomingMessage): boolean {
  return req.method === 'GET' || req.method === 'HEAD';
}

/**
 * True when `req` is a browser opening the GraphQL endpoint: GET (or HEAD) of
 * `graphqlPath` that prefers `text/html` and carries no `query` parameter (a GET
 * with `?query=` is a GraphQL request and belongs to the GraphQL handler).
 */
export function wantsGraphiql(req: IncomingMessage, graphqlPath = '/graphql'): boolean {
  if (!isGetOrHead(req)) return false;
  const url = requestUrl(req);
  return url.pathname === graphqlPath && !url.searchParams.has('query') && prefersHtml(req.headers.accept);
}

/**
 * Serves GraphiQL for a raw node:http handler: the page at `GET {graphqlPath}` when
 * {@link wantsGraphiql}, and the bundle at `{graphqlPath}/assets/graphiql.js|css`.
 * Returns false, without touching `res`, for every other request, so the caller
 * passes it on to the GraphQL handler.
 *
 * @example
 * http.createServer((req, res) => {
 *   if (serveGraphiql(req, res, { assetsDir: 'dist/graphiql' })) return;
 *   apolloHandler(req, res);
 * });
 */
export function serveGraphiql(req: IncomingMessage, res: ServerResponse, options: GraphiqlOptions): boolean {
  const graphqlPath = options.graphqlPath ?? '/graphql';
  let respond: Promise<void>;
  if (wantsGraphiql(req, graphqlPath)) {
    respond = sendPage(req, res, { ...options, graphqlPath });
  } else {
    const asset = assetNameFor(req, graphqlPath);
    if (!asset) return false;
    respond = sendAsset(req, res, options.assetsDir, asset);
  }
  respond.catch((err: unknown) => {
    // Asset loading is the only thing that can fail (an unreadable file); answer
    // rather than leave the browser hanging.
    if (!res.headersSent) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`GraphiQL failed: ${err instanceof Error ? err.message : String(err)}\n`);
    } else {
      res.destroy(err instanceof Error ? err : undefined);
    }
  });
  return true;
}

function assetNameFor(req: IncomingMessage, graphqlPath: string): GraphiqlAssetName | null {
  if (!isGetOrHead(req)) return null;
  const prefix = `${graphqlPath}/assets/`;
  const { pathname } = requestUrl(req);
  if (!pathname.startsWith(prefix)) return null;
  const name = pathname.slice(prefix.length);
  return (GRAPHIQL_ASSET_NAMES as readonly string[]).includes(name) ? (name as GraphiqlAssetName) : null;
}

async function sendAsset(req: IncomingMessage, res: ServerResponse, assetsDir: string, name: GraphiqlAssetName): Promise<void> {
  const asset = await loadGraphiqlAsset(assetsDir, name);
  if (!asset) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${name} has not been built; run npm run build:graphiql\n`);
    return;
  }
  const etag = `"${asset.version}"`;
  // Only the URL the page links (with the current ?v=) may be cached forever; a bare
  // or stale URL must revalidate, or a rebuild would never reach the browser.
  const versioned = requestUrl(req).searchParams.get('v') === asset.version;
  const headers: Record<string, string> = {
    'content-type': asset.contentType,
    'cache-control': versioned ? IMMUTABLE : 'no-cache',
    etag,
    vary: 'accept-encoding',
    'x-content-type-options': 'nosniff',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? asset.gzipped : asset.body;
  if (gzip) headers['content-encoding'] = 'gzip';
  headers['content-length'] = String(body.length);
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

async function sendPage(
  req: IncomingMessage,
  res: ServerResponse,
  options: Required<Pick<GraphiqlOptions, 'graphqlPath'>> & GraphiqlOptions,
): Promise<void> {
  const [js, css] = await Promise.all(GRAPHIQL_ASSET_NAMES.map((name) => loadGraphiqlAsset(options.assetsDir, name)));
  const built = js && css;
  const html = built
    ? renderGraphiqlHtml({ graphqlPath: options.graphqlPath, title: options.title ?? 'OMTX-Hub GraphiQL', js, css })
    : renderNotBuiltHtml(options.assetsDir);
  const body = Buffer.from(html, 'utf8');
  res.writeHead(built ? 200 : 503, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(body.length),
    // The page is tiny and names the current asset versions, so always revalidate it.
    'cache-control': 'no-cache',
    // The same URL answers JSON to GraphQL clients.
    vary: 'accept',
    'content-security-policy': contentSecurityPolicy(req.headers.host),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function contentSecurityPolicy(host: string | undefined): string {
  // CSP3 'self' covers ws:/wss: to the same host, but older Safari does not apply
  // it to sockets, so the socket origin is also named when the Host header is sane.
  const sockets = host && /^[a-z0-9.\-:[\]]+$/i.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    // CodeMirror and GraphiQL position panes with inline style attributes.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The HTML page: no inline script (so the CSP can forbid it); the endpoint path travels in a data attribute. */
export function renderGraphiqlHtml(page: { graphqlPath: string; title: string; js: GraphiqlAsset; css: GraphiqlAsset }): string {
  const assets = `${escapeHtml(page.graphqlPath)}/assets`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assets}/graphiql.css?v=${page.css.version}">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql" data-graphql-path="${escapeHtml(page.graphqlPath)}">Loading GraphiQL…</div>
<script src="${assets}/graphiql.js?v=${page.js.version}" defer></script>
</body>
</html>
`;
}

function renderNotBuiltHtml(assetsDir: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GraphiQL not built</title></head>
<body><p>GraphiQL has not been built: no graphiql.js and graphiql.css in <code>${escapeHtml(assetsDir)}</code>.
Run <code>npm run build:graphiql</code> and reload.</p></body></html>
`;
}
