import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSecureServer, type SecureServer } from './support.js';
import { loadConfig } from '../../src/config.js';
import { WhoAmIDocument } from '../../schema/__generated__/graphql.js';

const SECRET = 'a-test-hs256-secret-of-at-least-32-characters!';
const ISSUER = 'https://auth.example.org/';
const AUDIENCE = 'omtx-hub';

interface Sign {
  claims?: JWTPayload;
  secret?: string;
  issuer?: string;
  audience?: string;
  expiresIn?: string | number;
  subject?: string | null;
}

async function hs256({
  claims = {},
  secret = SECRET,
  issuer = ISSUER,
  audience = AUDIENCE,
  expiresIn = '5m',
  subject = 'alice',
}: Sign = {}) {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setIssuer(issuer).setAudience(audience);
  if (subject !== null) jwt = jwt.setSubject(subject);
  if (expiresIn !== '') jwt = jwt.setExpirationTime(expiresIn);
  return `Bearer ${await jwt.sign(new TextEncoder().encode(secret))}`;
}

describe('JWT bearer tokens, HS256', () => {
  let server: SecureServer;

  beforeAll(async () => {
    server = await startSecureServer({
      OMTX_JWT_SECRET: SECRET,
      OMTX_JWT_ISSUER: ISSUER,
      OMTX_JWT_AUDIENCE: AUDIENCE,
      OMTX_JWT_ORG_CLAIM: 'https://omtx/org',
    });
  });
  afterAll(async () => server.close());

  it('takes the user from `sub` and the organization from the configured claim', async () => {
    const answer = await server.request(WhoAmIDocument, {}, await hs256({ claims: { 'https://omtx/org': 'lab-a' } }));
    expect(answer.status).toBe(200);
    expect(answer.data!.viewer).toMatchObject({ id: 'alice', organizationId: 'lab-a', credential: 'jwt' });
  });

  it('requires a credential once JWTs are configured', async () => {
    expect((await server.request(WhoAmIDocument, {})).status).toBe(401);
  });

  it.each<[string, () => Promise<string>, RegExp]>([
    ['forged (signed with another secret)', () => hs256({ secret: 'x'.repeat(40) }), /signature/],
    ['expired', () => hs256({ expiresIn: Math.floor(Date.now() / 1000) - 60 }), /expired/],
    ['from another issuer', () => hs256({ issuer: 'https://evil.example.org/' }), /iss/],
    ['for another audience', () => hs256({ audience: 'another-api' }), /aud/],
    ['without an expiry', () => hs256({ expiresIn: '' }), /exp/],
    ['without a subject', () => hs256({ subject: null }), /sub/],
    ['with an organization that is not a string', () => hs256({ claims: { 'https://omtx/org': ['lab-a', 'lab-b'] } }), /org/],
    [
      'unsigned (alg none)',
      async () => {
        const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        const exp = Math.floor(Date.now() / 1000) + 300;
        return `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp })}.`;
      },
      /./,
    ],
    ['garbage', async () => 'Bearer not.a.jwt', /malformed|invalid/],
  ])('refuses a token %s with 401 UNAUTHENTICATED', async (_what, token, why) => {
    const answer = await server.request(WhoAmIDocument, {}, await token());
    expect(answer.status).toBe(401);
    expect(answer.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(answer.errors?.[0]?.message).toMatch(why);
  });

  it('still accepts API keys beside JWTs', async () => {
    const key = await server.keyFor('bob', 'lab-b');
    expect((await server.request(WhoAmIDocument, {}, key.authorization)).data!.viewer).toMatchObject({
      id: 'bob',
      credential: 'apiKey',
    });
  });

  it('authenticates a socket with a JWT in connectionParams, and closes it with 4401 when the token expires', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const socket = server.socket(await hs256({ expiresIn: exp }));
    await socket.connected;
    const closed = await socket.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/expired/);
  });

  it('closes a socket whose JWT expires beyond the longest timer Node keeps (~24.8 days) when it expires', async () => {
    const day = 24 * 3600 * 1000;
    // Only the timers and the clock: sockets keep doing real I/O.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const exp = Math.floor(Date.now() / 1000) + 30 * 24 * 3600;
      const socket = server.socket(await hs256({ expiresIn: exp }));
      let closed = false;
      void socket.closed.then(() => (closed = true));
      await socket.connected;
      await vi.advanceTimersByTimeAsync(29 * day);
      expect(closed).toBe(false);
      await vi.advanceTimersByTimeAsync(day + 5_000);
      const event = await socket.closed;
      expect(event.code).toBe(4401);
      expect(event.reason).toMatch(/expired/);
    } finally {
      vi.useRealTimers();
    }
  });

  it('closes a socket with an expired or forged JWT with 4401', async () => {
    for (const token of [
      await hs256({ expiresIn: Math.floor(Date.now() / 1000) - 60 }),
      await hs256({ secret: 'y'.repeat(40) }),
    ]) {
      expect((await server.socket(token).closed).code).toBe(4401);
    }
  });
});

describe('JWT bearer tokens, RS256 from a JWKS URL', () => {
  let server: SecureServer;
  let jwks: Server;
  let fetches = 0;
  const keys = { good: null as unknown as CryptoKey, stranger: null as unknown as CryptoKey };

  async function rs256(key: CryptoKey, kid: string, subject = 'carol') {
    return `Bearer ${await new SignJWT({ org: 'lab-c' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setSubject(subject)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(key)}`;
  }

  beforeAll(async () => {
    const good = await generateKeyPair('RS256');
    const stranger = await generateKeyPair('RS256');
    keys.good = good.privateKey;
    keys.stranger = stranger.privateKey;
    const published = { keys: [{ ...(await exportJWK(good.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
    jwks = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(published));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const { port } = jwks.address() as AddressInfo;
    server = await startSecureServer({
      OMTX_JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      OMTX_JWT_ISSUER: ISSUER,
      OMTX_JWT_AUDIENCE: AUDIENCE,
    });
  });
  afterAll(async () => {
    await server.close();
    await new Promise((resolve) => jwks.close(resolve));
  });

  it('verifies a token signed by a key of the JWKS, fetching the set once', async () => {
    for (const subject of ['carol', 'carol', 'dave']) {
      const answer = await server.request(WhoAmIDocument, {}, await rs256(keys.good, 'k1', subject));
      expect(answer.data!.viewer).toMatchObject({ id: subject, organizationId: 'lab-c', credential: 'jwt' });
    }
    expect(fetches).toBe(1);
  });

  it('refuses a token signed by a key outside the JWKS, whatever kid it claims', async () => {
    for (const kid of ['k1', 'k2']) {
      const answer = await server.request(WhoAmIDocument, {}, await rs256(keys.stranger, kid));
      expect(answer.status).toBe(401);
      expect(answer.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it('refuses an HS256 token signed with the public key (algorithm confusion)', async () => {
    const publicJwk = JSON.stringify(await (await fetch(`http://127.0.0.1:${(jwks.address() as AddressInfo).port}/`)).json());
    const answer = await server.request(WhoAmIDocument, {}, await hs256({ secret: publicJwk }));
    expect(answer.status).toBe(401);
  });
});

describe('JWKS URL', () => {
  const jwt = { OMTX_JWT_ISSUER: ISSUER, OMTX_JWT_AUDIENCE: AUDIENCE };
  it('must be https, except on a loopback host', () => {
    for (const url of ['http://auth.example.org/jwks.json', 'http://10.0.0.5/jwks.json']) {
      expect(() => loadConfig({ ...jwt, OMTX_JWT_JWKS_URL: url })).toThrow(/OMTX_JWT_JWKS_URL=.*must be https:/);
    }
    for (const url of ['https://auth.example.org/jwks.json', 'http://127.0.0.1:9999/jwks.json', 'http://localhost/jwks']) {
      expect(loadConfig({ ...jwt, OMTX_JWT_JWKS_URL: url }).auth.jwt?.jwksUrl).toBe(url);
    }
  });
});
