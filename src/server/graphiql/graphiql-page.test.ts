import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveGraphiql } from './graphiql-page.js';
import { prefersHtml } from './prefers-html.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

let assetsDir: string;
let server: Server;
let base: string;

beforeAll(async () => {
  assetsDir = await mkdtemp(join(tmpdir(), 'graphiql-assets-'));
  await writeFile(join(assetsDir, 'graphiql.js'), 'console.log("graphiql");'.repeat(100));
  await writeFile(join(assetsDir, 'graphiql.css'), 'body{margin:0}');
  server = createServer((req, res) => {
    const assetsFor = req.url?.includes('unbuilt') ? join(assetsDir, 'missing') : assetsDir;
    const graphqlPath = req.url?.includes('unbuilt') ? '/unbuilt' : '/graphql';
    if (serveGraphiql(req, res, { assetsDir: assetsFor, graphqlPath })) return;
    res.writeHead(299, { 'content-type': 'text/plain' }); // stands in for the GraphQL handler
    res.end('next handler');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(assetsDir, { recursive: true, force: true });
});

describe('serveGraphiql', () => {
  it('serves the GraphiQL page to a browser opening /graphql', async () => {
    const res = await fetch(`${base}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('vary')).toBe('accept');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('data-graphql-path="/graphql"');
    expect(html).toMatch(/<script src="\/graphql\/assets\/graphiql\.js\?v=[0-9a-f]{16}" defer>/);
    expect(html).toMatch(/href="\/graphql\/assets\/graphiql\.css\?v=[0-9a-f]{16}"/);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('leaves a GraphQL GET with a query parameter to the GraphQL handler', async () => {
    const res = await fetch(`${base}/graphql?query=%7B__typename%7D`, { headers: { accept: BROWSER_ACCEPT } });
    expect(await res.text()).toBe('next handler');
  });

  it('leaves JSON clients, bare */* clients and POSTs to the GraphQL handler', async () => {
    for (const init of [
      { headers: { accept: 'application/graphql-response+json, application/json' } },
      { headers: { accept: '*/*' } },
      { method: 'POST', headers: { accept: BROWSER_ACCEPT }, body: '{}' },
    ]) {
      expect(await (await fetch(`${base}/graphql`, init)).text()).toBe('next handler');
    }
  });

  it('serves the versioned bundle as immutable, gzipped, with an ETag that revalidates', async () => {
    const html = await (await fetch(`${base}/graphql`, { headers: { accept: BROWSER_ACCEPT } })).text();
    const jsPath = /src="([^"]+)"/.exec(html)![1]!;

    const res = await fetch(`${base}${jsPath}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(await res.text()).toBe('console.log("graphiql");'.repeat(100)); // fetch gunzips
    const etag = res.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{16}"$/);

    const revalidated = await fetch(`${base}${jsPath}`, { headers: { 'if-none-match': etag } });
    expect(revalidated.status).toBe(304);

    const unversioned = await fetch(`${base}/graphql/assets/graphiql.css`);
    expect(unversioned.headers.get('cache-control')).toBe('no-cache');
    expect(await unversioned.text()).toBe('body{margin:0}');
  });

  it('answers 503 with the build command when the bundle has not been built', async () => {
    const res = await fetch(`${base}/unbuilt`, { headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build:graphiql');
  });

  it('passes unknown asset names on', async () => {
    expect(await (await fetch(`${base}/graphql/assets/other.js`)).text()).toBe('next handler');
  });
});

describe('prefersHtml', () => {
  it('prefers HTML only when text/html is named and ranks at least as high as JSON', () => {
    expect(prefersHtml(BROWSER_ACCEPT)).toBe(true);
    expect(prefersHtml('text/html')).toBe(true);
    expect(prefersHtml('text/html;q=0.5, application/json')).toBe(false);
    expect(prefersHtml('application/json, text/html;q=0')).toBe(false);
    expect(prefersHtml('*/*')).toBe(false);
    expect(prefersHtml(undefined)).toBe(false);
  });
});
