import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

interface Answer {
  status: number;
  text: string;
}

/** Error codes in an answer's body, when it is JSON. */
function codes(answer: Answer): string[] {
  try {
    const body = JSON.parse(answer.text) as { errors?: { extensions?: { code?: string } }[] };
    return (body.errors ?? []).map((e) => e.extensions?.code ?? '');
  } catch {
    return [];
  }
}

describe('a burst of 1,000 bad requests', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      OMTX_RATE_READ: '20',
      OMTX_RATE_SUBMIT_PREDICTION: '5',
      OMTX_MAX_QUERY_COST: '50',
      OMTX_COST_POINTS_PER_HOUR: '400',
      OMTX_MAX_TOKENS: '1000',
      OMTX_MAX_BODY_BYTES: '65536',
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers every one with a 4xx or a GraphQL error, never a 5xx or INTERNAL, and keeps serving', async () => {
    const url = `${server.url}/graphql`;
    const send = async (
      body: string | Blob,
      headers: Record<string, string> = {},
      method = 'POST',
      path = '',
    ): Promise<Answer> => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        ...(method === 'GET' ? {} : { body }),
      });
      return { status: response.status, text: await response.text() };
    };
    const json = (value: unknown) => send(JSON.stringify(value));
    const deep = (n: number) =>
      `{ jobs { edges { node { ${'batch { jobs { edges { node { '.repeat(n)}id${' } } } }'.repeat(n)} } } } }`;
    // Valid reads: the first 20 of each pass, then they are over the rate or the budget.
    const overRate = [
      () => json({ query: '{ models { name } }' }),
      () => json({ query: '{ viewer { id rateLimit { remaining } } }' }),
    ];
    const kinds: (() => Promise<Answer>)[] = [
      // malformed JSON and bodies that are not GraphQL requests
      () => send('{"query": "{ models { name } }"'),
      () => send('{"query": '),
      () => send('[[[['.repeat(50_000)),
      () => send(new Blob([Uint8Array.from([0xff, 0xfe, 0x7b, 0x00, 0xc3])])),
      () => send(''),
      () => send('[]'),
      () => send('"just a string"'),
      () => json({ query: 5 }),
      () => json({ query: '{ models { name } }', variables: 'nope' }),
      () => json({ query: '{ models { name } }', extensions: [1] }),
      () => send('{ models { name } }', { 'content-type': 'text/plain' }),
      () => send('x'.repeat(70_000)),
      // unknown fields, types and operations
      () => json({ query: '{ nope }' }),
      () => json({ query: '{ jobs { edges { node { secret } } } }' }),
      () => json({ query: 'query A { models { name } }', operationName: 'B' }),
      () => json({ query: 'query A { models { name } } query B { viewer { id } }' }),
      () => json({ query: 'mutation { launchMissiles }' }),
      () => json({ query: 'subscription { jobUpdated(id: "x") { id } }' }),
      // huge depth, too many aliases, too many tokens
      () => json({ query: deep(6) }),
      () => json({ query: `{ ${Array.from({ length: 60 }, (_, i) => `a${i}: viewer { id }`).join(' ')} }` }),
      () => json({ query: `{ ${'__typename '.repeat(2_000)}}` }),
      // bad variables
      () => json({ query: 'query ($n: Int) { jobs(first: $n) { nodes { id } } }', variables: { n: 'ten' } }),
      () => json({ query: 'query ($id: ID!) { job(id: $id) { id } }', variables: {} }),
      () => json({ query: 'query ($n: Int) { jobs(first: $n) { nodes { id } } }', variables: { n: 1e12 } }),
      () => json({ query: '{ jobs(first: -5) { nodes { id } } }' }),
      () => json({ query: '{ jobs(after: "forged") { nodes { id } } }' }),
      () =>
        json({
          query: 'mutation ($input: SubmitPredictionInput!) { submitPrediction(input: $input) { job { id } } }',
          variables: { input: { model: 'VINA', protein: {}, ligand: { smiles: '(((' } } },
        }),
      // too costly
      () =>
        json({
          query:
            '{ batches(first: 100) { nodes { jobs(first: 100) { nodes { batch { jobs(first: 100) { nodes { id } } } } } } } }',
        }),
      // over rate (20 reads a minute) and, later, over the points budget
      ...overRate,
      // protocol misuse
      () => send('', {}, 'GET', `?query=${encodeURIComponent('mutation { cancelJob(id: "x") { id } }')}`),
      () =>
        send(
          '',
          { 'apollo-require-preflight': 'true' },
          'GET',
          `?query=${encodeURIComponent('{ models { name } }')}&variables=%7B`,
        ),
      () => send('{}', {}, 'PUT'),
    ];

    const answers: (Answer & { kind: number })[] = [];
    // 25 at a time: a burst, within what one test process can keep open at once.
    for (let start = 0; start < 1_000; start += 25) {
      const batch = Array.from({ length: 25 }, (_, i) => (start + i) % kinds.length);
      answers.push(...(await Promise.all(batch.map(async (kind) => ({ ...(await kinds[kind]!()), kind })))));
    }
    expect(answers).toHaveLength(1_000);
    const failures = answers.filter((a) => a.status >= 500 || codes(a).includes('INTERNAL'));
    expect(failures.map((a) => `#${a.kind}: ${a.status} ${a.text.slice(0, 200)}`)).toEqual([]);
    const statuses = new Set(answers.map((a) => a.status));
    expect(statuses).toContain(400);
    expect(statuses).toContain(429);
    // Every kind was refused as the client's mistake, never answered as a plain success.
    const succeeded = answers.filter((a) => a.status === 200 && codes(a).length === 0);
    const unexpected = succeeded.filter((a) => !overRate.includes(kinds[a.kind]!));
    expect(unexpected.map((a) => `#${a.kind}: ${a.text.slice(0, 200)}`)).toEqual([]);
    expect(answers.filter((a) => overRate.includes(kinds[a.kind]!) && a.status === 429).length).toBeGreaterThan(0);
    // Still serving, for another user's budget or after the window: the server answers.
    const after = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{ __typename }"}',
    });
    expect(after.status).toBeLessThan(500);
  });
});

describe('a burst of bad credentials with authentication required', () => {
  const SECRET = 'a-burst-test-hs256-secret-of-at-least-32-characters';
  const ISSUER = 'https://auth.example.org/';
  const AUDIENCE = 'omtx-hub';
  let server: TestServer;
  let goodKey: string;

  beforeAll(async () => {
    server = await startTestServer({
      OMTX_AUTH_REQUIRED: 'true',
      OMTX_JWT_SECRET: SECRET,
      OMTX_JWT_ISSUER: ISSUER,
      OMTX_JWT_AUDIENCE: AUDIENCE,
      OMTX_RATE_READ: '20',
      OMTX_COST_POINTS_PER_HOUR: '400',
    });
    const actor = { id: 'test-setup', credential: 'cli', apiKeyId: null };
    const created = await server.app.apiKeys.create(actor, { userId: 'alice', organizationId: null }, 'burst key');
    goodKey = created.secret;
  });
  afterAll(async () => {
    await server.close();
  });

  const jwt = async ({ secret = SECRET, issuer = ISSUER, audience = AUDIENCE, expiresAt = '5m' as string | number } = {}) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setSubject('alice')
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime(expiresAt)
      .sign(new TextEncoder().encode(secret));
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('answers every one with a 4xx, never a 5xx or INTERNAL, and keeps serving a good key', async () => {
    const [, prefix] = /^omtx_([0-9a-f]{12})_/.exec(goodKey)!;
    const send = async (authorization: string): Promise<Answer> => {
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ query: '{ viewer { id rateLimit { remaining } } }' }),
      });
      return { status: response.status, text: await response.text() };
    };
    const newSecret = () => randomBytes(32).toString('base64url'); // 43 characters, as a key's
    const kinds: (() => Promise<Answer>)[] = [
      // API keys: a known prefix with a wrong secret (a new guess each time: scrypt runs),
      // an unknown prefix, malformed and truncated keys, the good key cut or extended
      () => send(`Bearer omtx_${prefix}_${newSecret()}`),
      () => send(`Bearer omtx_${prefix}_${'A'.repeat(43)}`),
      () => send(`Bearer omtx_${randomBytes(6).toString('hex')}_${newSecret()}`),
      () => send(`Bearer omtx_${prefix}_short`),
      () => send(`Bearer ${goodKey.slice(0, -1)}`),
      () => send(`Bearer ${goodKey}x`),
      () => send(`Bearer omtx_${'z'.repeat(5_000)}`),
      // JWTs: another secret, expired, wrong issuer and audience, alg none, garbage, huge
      async () => send(`Bearer ${await jwt({ secret: 'x'.repeat(40) })}`),
      async () => send(`Bearer ${await jwt({ expiresAt: Math.floor(Date.now() / 1000) - 60 })}`),
      async () => send(`Bearer ${await jwt({ issuer: 'https://evil.example/' })}`),
      async () => send(`Bearer ${await jwt({ audience: 'someone-else' })}`),
      () => send(`Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', iss: ISSUER, aud: AUDIENCE })}.`),
      () => send(`Bearer ${b64({ alg: 'RS256' })}.${b64({ sub: 'alice' })}.${'A'.repeat(342)}`),
      () => send('Bearer a.b.c'),
      () => send(`Bearer ${'x'.repeat(8_000)}.${'y'.repeat(8_000)}.z`),
      // schemes and shapes that are no credential at all
      () => send('Bearer'),
      () => send('Bearer '),
      () => send('Basic YWxpY2U6c2VjcmV0'),
      () => send(goodKey),
      () => send(''),
    ];

    const answers: (Answer & { kind: number })[] = [];
    for (let start = 0; start < 500; start += 25) {
      const batch = Array.from({ length: 25 }, (_, i) => (start + i) % kinds.length);
      answers.push(...(await Promise.all(batch.map(async (kind) => ({ ...(await kinds[kind]!()), kind })))));
    }
    expect(answers).toHaveLength(500);
    const failures = answers.filter((a) => a.status >= 500 || codes(a).includes('INTERNAL'));
    expect(failures.map((a) => `#${a.kind}: ${a.status} ${a.text.slice(0, 200)}`)).toEqual([]);
    // None got in: every one was refused as the client's mistake.
    const admitted = answers.filter((a) => a.status < 400);
    expect(admitted.map((a) => `#${a.kind}: ${a.status} ${a.text.slice(0, 200)}`)).toEqual([]);
    expect(answers.filter((a) => a.status === 401).length).toBeGreaterThan(0);

    // The good key and a good JWT are still served.
    const good = await send(`Bearer ${goodKey}`);
    expect(good.status).toBe(200);
    expect(codes(good)).toEqual([]);
    const token = await send(`Bearer ${await jwt()}`);
    expect(token.status).toBe(200);
  });
});
