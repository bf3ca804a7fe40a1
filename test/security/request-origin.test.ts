import { request as httpRequest } from 'node:http';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSecureServer, type SecureServer } from './support.js';

const VIEWER = '{ viewer { id credential } }';

/** A POST of `{ viewer { id } }` with exactly these extra headers (fetch may not set `Host`). */
function post(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}/graphql`,
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ query: VIEWER }));
  });
}

/**
 * Runs `{ viewer { id } }` over a graphql-ws socket whose upgrade carries these headers (as
 * a browser page's would): the data, or how the socket failed.
 */
async function queryOverSocket(
  url: string,
  headers: Record<string, string>,
  authorization?: string,
): Promise<{ data?: unknown; refused?: { status: number; body: string } }> {
  let refused: { status: number; body: string } | undefined;
  class BrowserLikeSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
      this.on('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          refused = { status: res.statusCode!, body };
          // With this listener, ws leaves ending the handshake to us.
          this.terminate();
        });
      });
    }
  }
  const client = createClient({
    url: `${url.replace('http', 'ws')}/graphql`,
    webSocketImpl: BrowserLikeSocket,
    retryAttempts: 0,
    connectionParams: authorization === undefined ? {} : { authorization },
  });
  try {
    const outcome = await new Promise<{ data?: unknown; error?: unknown }>((resolve) => {
      client.subscribe(
        { query: VIEWER },
        { next: (value) => resolve({ data: value.data }), error: (error) => resolve({ error }), complete: () => {} },
      );
    });
    if (outcome.data !== undefined) return { data: outcome.data };
    return { refused: refused ?? { status: 0, body: String(outcome.error) } };
  } finally {
    await client.dispose();
  }
}

describe('cross-site WebSocket hijacking and DNS rebinding, embedded default (no authentication)', () => {
  let server: SecureServer;
  let port: string;
  beforeAll(async () => {
    server = await startSecureServer({ OMTX_LOCAL_USER: 'bench-chemist', OMTX_CORS_ORIGINS: 'https://lab.example.org' });
    port = new URL(server.url).port;
  });
  afterAll(async () => server.close());

  it("refuses a socket opened by another site's page (Origin not allowed) with 403, before it can run anything", async () => {
    const answer = await queryOverSocket(server.url, { origin: 'https://evil.example' });
    expect(answer.data).toBeUndefined();
    expect(answer.refused?.status).toBe(403);
    expect(answer.refused?.body).toMatch(/Origin "https:\/\/evil.example".*OMTX_CORS_ORIGINS/);
  });

  it("lets a script (no Origin), the api's own page and a listed origin open sockets", async () => {
    const origins: Record<string, string>[] = [{}, { origin: `http://127.0.0.1:${port}` }, { origin: 'https://lab.example.org' }];
    for (const headers of origins) {
      const answer = await queryOverSocket(server.url, headers);
      expect(answer.data).toEqual({ viewer: { id: 'bench-chemist', credential: 'local' } });
    }
  });

  it('refuses a rebound Host over HTTP and WebSocket with 403 and says why', async () => {
    for (const host of ['evil.example:8000', 'evil.example', `127.0.0.1.nip.io:${port}`]) {
      const answer = await post(server.url, { host });
      expect(answer.status).toBe(403);
      expect(answer.body).toMatch(/not a loopback name.*DNS rebinding/);
      expect(answer.body).not.toContain('bench-chemist');
      const socket = await queryOverSocket(server.url, { host });
      expect(socket.refused?.status).toBe(403);
    }
  });

  it('answers loopback names, with or without the port', async () => {
    for (const host of ['localhost', `localhost:${port}`, '127.0.0.1', `127.0.0.1:${port}`, '[::1]', `[::1]:${port}`]) {
      const answer = await post(server.url, { host });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ data: { viewer: { id: 'bench-chemist', credential: 'local' } } });
    }
  });
});

describe('with authentication required', () => {
  let server: SecureServer;
  let key: string;
  beforeAll(async () => {
    server = await startSecureServer({ OMTX_AUTH_REQUIRED: 'true' });
    key = (await server.keyFor('alice')).authorization;
  });
  afterAll(async () => server.close());

  it('serves any Host (a proxy or load balancer names the service)', async () => {
    const answer = await post(server.url, { host: 'hub.example.org:8000', authorization: key });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ data: { viewer: { id: 'alice', credential: 'apiKey' } } });
    const socket = await queryOverSocket(server.url, { host: 'hub.example.org' }, key);
    expect(socket.data).toEqual({ viewer: { id: 'alice', credential: 'apiKey' } });
  });

  it("still refuses a socket from another site's page, even with a credential", async () => {
    const answer = await queryOverSocket(server.url, { origin: 'https://evil.example' }, key);
    expect(answer.refused?.status).toBe(403);
  });
});
