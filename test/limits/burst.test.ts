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
