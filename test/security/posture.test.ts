import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createApp } from '../../src/container.js';
import { startServer } from '../../src/server/http-server.js';
import { firstEvent, startSecureServer, type SecureServer } from './support.js';
import { JobUpdatedDocument, SecurityJobDocument, WhoAmIDocument } from '../../schema/__generated__/graphql.js';

const INTROSPECTION = '{ __schema { queryType { name } } }';

describe('listening beyond loopback', () => {
  it.each(['0.0.0.0', '::', '192.168.1.20', 'hub.example.org'])(
    'refuses to start on %s without authentication, naming what to set',
    (host) => {
      expect(() => loadConfig({ OMTX_HOST: host })).toThrow(ConfigError);
      expect(() => loadConfig({ OMTX_HOST: host })).toThrow(/OMTX_HOST=.*not a loopback address.*OMTX_AUTH_REQUIRED=true/s);
    },
  );

  it.each(['127.0.0.1', '127.8.9.10', '::1', 'localhost'])('runs without authentication on loopback %s', (host) => {
    expect(loadConfig({ OMTX_HOST: host }).auth.required).toBe(false);
  });

  it('starts on 0.0.0.0 once authentication is required (API keys or JWTs)', () => {
    expect(loadConfig({ OMTX_HOST: '0.0.0.0', OMTX_AUTH_REQUIRED: 'true' }).auth.required).toBe(true);
    const jwt = { OMTX_JWT_SECRET: 's'.repeat(32), OMTX_JWT_ISSUER: 'i', OMTX_JWT_AUDIENCE: 'a' };
    expect(loadConfig({ OMTX_HOST: '0.0.0.0', ...jwt }).auth.required).toBe(true);
    expect(() => loadConfig({ OMTX_HOST: '0.0.0.0', OMTX_AUTH_REQUIRED: 'false', ...jwt })).toThrow(ConfigError);
  });

  it('refuses a half-configured JWT setup, naming the missing variables', () => {
    expect(() => loadConfig({ OMTX_JWT_SECRET: 's'.repeat(32) })).toThrow(/OMTX_JWT_ISSUER.*\n.*OMTX_JWT_AUDIENCE/);
    expect(() => loadConfig({ OMTX_JWT_SECRET: 'short', OMTX_JWT_ISSUER: 'i', OMTX_JWT_AUDIENCE: 'a' })).toThrow(
      /OMTX_JWT_SECRET/,
    );
  });

  it('refuses to listen on 0.0.0.0 without authentication even with a configuration built in code', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'omtx-security-listen-'));
    const config = loadConfig({ OMTX_DATA_DIR: dataDir, OMTX_LOG_LEVEL: 'silent' });
    const app = await createApp({ ...config, host: '0.0.0.0', port: 0 }, pino({ level: 'silent' }));
    try {
      await expect(startServer(app)).rejects.toThrow(/not a loopback address/);
    } finally {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('embedded default (loopback, no authentication)', () => {
  let server: SecureServer;
  beforeAll(async () => {
    server = await startSecureServer({ OMTX_LOCAL_USER: 'bench-chemist' });
  });
  afterAll(async () => server.close());

  it('acts as the local user without credentials, over HTTP and WebSocket', async () => {
    expect((await server.request(WhoAmIDocument, {})).data!.viewer).toMatchObject({ id: 'bench-chemist', credential: 'local' });
    const socket = server.socket();
    await socket.connected;
    // Acknowledged, and the subscription runs (no job has this id).
    const event = await firstEvent(socket.client, print(JobUpdatedDocument), { id: 'none' });
    expect((event.error as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('still refuses a bad credential instead of falling back to the local user', async () => {
    const answer = await server.request(WhoAmIDocument, {}, 'Bearer omtx_0123456789ab_' + 'A'.repeat(43));
    expect(answer.status).toBe(401);
  });

  it('keeps introspection and GraphiQL on by default', async () => {
    expect((await server.request(INTROSPECTION)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('hides internals of a store failure behind INTERNAL, and logs them', async () => {
    const original = server.app.jobs.getJobs.bind(server.app.jobs);
    server.app.jobs.getJobs = async () => {
      throw new Error('SQLITE_CORRUPT: database disk image is malformed at /srv/omtx/omtx.sqlite');
    };
    try {
      const answer = await server.request(SecurityJobDocument, { id: 'any' });
      expect(answer.status).toBeLessThan(500);
      expect(answer.errors).toEqual([expect.objectContaining({ message: 'Internal error', extensions: { code: 'INTERNAL' } })]);
      expect(JSON.stringify(answer)).not.toMatch(/SQLITE|\/srv|stack/i);
      expect(JSON.stringify(server.logs)).toContain('SQLITE_CORRUPT');
    } finally {
      server.app.jobs.getJobs = original;
    }
  });
});

describe('production posture', () => {
  it('turns introspection and GraphiQL off when authentication is required, over HTTP and WebSocket', async () => {
    const server = await startSecureServer({ OMTX_AUTH_REQUIRED: 'true' });
    try {
      const key = (await server.keyFor('alice')).authorization;
      const answer = await server.request(INTROSPECTION, undefined, key);
      expect(answer.status).toBe(400);
      expect(answer.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(answer.errors?.[0]?.message).toMatch(/introspection/i);
      const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(page.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
      const socket = server.socket(key);
      await socket.connected;
      const event = await firstEvent(socket.client, 'subscription { __schema { queryType { name } } }', {});
      expect(JSON.stringify(event.error)).toMatch(/introspection/i);
    } finally {
      await server.close();
    }
  });

  it('keeps them on the embedded default on loopback, even under NODE_ENV=production as ./omtx serve runs', async () => {
    const server = await startSecureServer({ NODE_ENV: 'production' });
    try {
      expect((await server.request(INTROSPECTION)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
      const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
    } finally {
      await server.close();
    }
  });

  it('turns them back on with OMTX_INTROSPECTION and OMTX_GRAPHIQL', async () => {
    const server = await startSecureServer({ OMTX_AUTH_REQUIRED: 'true', OMTX_INTROSPECTION: 'true', OMTX_GRAPHIQL: 'true' });
    try {
      const key = (await server.keyFor('alice')).authorization;
      expect((await server.request(INTROSPECTION, undefined, key)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
      const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html', authorization: key } });
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
    } finally {
      await server.close();
    }
  });
});

describe('CORS', () => {
  const preflight = (url: string, origin: string) =>
    fetch(`${url}/graphql`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
  const post = (url: string, origin: string) =>
    fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ viewer { id } }' }),
    });

  it('answers a preflight from a listed origin, and refuses one from any other', async () => {
    const server = await startSecureServer({ OMTX_CORS_ORIGINS: 'https://lab.example.org, http://localhost:5173' });
    try {
      const allowed = await preflight(server.url, 'https://lab.example.org');
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://lab.example.org');
      expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
      expect(allowed.headers.get('access-control-allow-methods')).toMatch(/POST/);
      expect(allowed.headers.get('vary')).toMatch(/Origin/);
      expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();

      const refused = await preflight(server.url, 'https://evil.example.org');
      expect(refused.status).toBe(403);
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();

      expect((await post(server.url, 'http://localhost:5173')).headers.get('access-control-allow-origin')).toBe(
        'http://localhost:5173',
      );
      expect((await post(server.url, 'https://evil.example.org')).headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await server.close();
    }
  });

  it('allows no other origin by default, and "*" only without credentials', async () => {
    const closed = await startSecureServer();
    try {
      expect((await preflight(closed.url, 'https://lab.example.org')).status).toBe(403);
      expect((await post(closed.url, 'https://lab.example.org')).headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await closed.close();
    }
    const open = await startSecureServer({ OMTX_CORS_ORIGINS: '*' });
    try {
      const answer = await preflight(open.url, 'https://anywhere.example');
      expect(answer.headers.get('access-control-allow-origin')).toBe('*');
      expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
    } finally {
      await open.close();
    }
  });

  it('refuses a malformed allowlist, or "*" mixed with origins', () => {
    expect(() => loadConfig({ OMTX_CORS_ORIGINS: 'https://lab.example.org/path' })).toThrow(/OMTX_CORS_ORIGINS/);
    expect(() => loadConfig({ OMTX_CORS_ORIGINS: '*, https://lab.example.org' })).toThrow(/OMTX_CORS_ORIGINS/);
  });
});

describe('/metrics', () => {
  const scrape = (url: string, authorization?: string) =>
    fetch(`${url}/metrics`, { headers: authorization === undefined ? {} : { authorization } });
  const TOKEN = 'prometheus-scrape-token-0123456789';

  it('is off (404) when authentication is required and OMTX_METRICS_TOKEN is unset', async () => {
    const server = await startSecureServer({ OMTX_AUTH_REQUIRED: 'true' });
    try {
      const answer = await scrape(server.url, (await server.keyFor('alice')).authorization);
      expect(answer.status).toBe(404);
      expect(await answer.text()).toMatch(/OMTX_METRICS_TOKEN/);
    } finally {
      await server.close();
    }
  });

  it('needs Authorization: Bearer <OMTX_METRICS_TOKEN> when the token is set (401 otherwise)', async () => {
    const server = await startSecureServer({ OMTX_AUTH_REQUIRED: 'true', OMTX_METRICS_TOKEN: TOKEN });
    try {
      const key = (await server.keyFor('alice')).authorization;
      for (const authorization of [undefined, key, `Bearer ${TOKEN}x`, TOKEN]) {
        const answer = await scrape(server.url, authorization);
        expect(answer.status).toBe(401);
        expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
      const ok = await scrape(server.url, `Bearer ${TOKEN}`);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('omtx_graphql_requests_total');
    } finally {
      await server.close();
    }
  });

  it('labels only well-formed operation names, at most 200 distinct ones; the rest are `other`', async () => {
    const server = await startSecureServer();
    try {
      const run = (name: string) =>
        fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: `query ${name} { viewer { id } }`, operationName: name }),
        });
      for (let i = 0; i < 210; i++) await run(`Flood${i}`);
      const long = `L${'o'.repeat(80)}ng`;
      await run(long);
      const text = await (await scrape(server.url)).text();
      const labels = new Set([...text.matchAll(/omtx_graphql_requests_total\{operation="([^"]*)"/g)].map((m) => m[1]));
      expect(labels.size).toBeLessThanOrEqual(201);
      expect(labels).toContain('Flood0');
      expect(labels).not.toContain('Flood209');
      expect(labels).not.toContain(long);
      expect(text).toMatch(/omtx_graphql_requests_total\{operation="other",type="query",outcome="ok"\} 11/);
    } finally {
      await server.close();
    }
  });
});
