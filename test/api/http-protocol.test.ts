import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { collect, startTestServer, type TestServer } from '../support/server.js';
import { LIGANDS, vinaProtein } from '../support/inputs.js';

/**
 * The HTTP face of the api, spoken to with raw requests: GraphQL-over-HTTP status codes and
 * media types, the request limits (body size, depth, aliases), the operational routes, and a
 * graceful shutdown. Servers run without a worker, so submitted jobs stay QUEUED.
 */

const GRAPHQL_RESPONSE = 'application/graphql-response+json';
const SUBMIT = /* GraphQL */ `
  mutation ($input: SubmitPredictionInput!) {
    submitPrediction(input: $input) {
      job {
        id
        status
      }
    }
  }
`;
const submitInput = { model: 'VINA', protein: vinaProtein(), ligand: LIGANDS[1]! };

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } | null;
}

/** One raw request; the body is parsed when it is JSON. */
async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: Answer['body'] = null;
  try {
    body = JSON.parse(text) as Answer['body'];
  } catch {
    body = null;
  }
  return { status: response.status, headers: response.headers, text, body };
}

const postJson = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  call(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: GRAPHQL_RESPONSE, ...headers },
    body: JSON.stringify(payload),
  });

/**
 * Apollo's CSRF prevention refuses a GET (a "simple" request a browser sends cross-site
 * without a preflight) unless it carries a header that forces a preflight; any of
 * `apollo-require-preflight`, `x-apollo-operation-name` or a non-simple content-type does.
 */
const PREFLIGHT = { 'apollo-require-preflight': 'true' };
const getQuery = (url: string, query: string, headers: Record<string, string> = PREFLIGHT) =>
  call(`${url}/graphql?query=${encodeURIComponent(query)}`, { headers: { accept: GRAPHQL_RESPONSE, ...headers } });

const codes = (answer: Answer) => (answer.body?.errors ?? []).map((e) => e.extensions?.code);

describe('GraphQL over HTTP', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers a parse error with 400 and application/graphql-response+json', async () => {
    const answer = await postJson(server.url, { query: '{ models { name ' });
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    expect(answer.body?.data).toBeUndefined();
    expect(codes(answer)).toEqual(['GRAPHQL_PARSE_FAILED']);
  });

  it('answers a validation error (an unknown field) with 400 and no data', async () => {
    const answer = await postJson(server.url, { query: '{ models { name flavour } }' });
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    expect(answer.body?.data).toBeUndefined();
    expect(codes(answer)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(answer.body?.errors?.[0]?.message).toContain('flavour');
  });

  it('answers a query over GET', async () => {
    const answer = await getQuery(server.url, '{ models { name } }');
    expect(answer.status).toBe(200);
    expect(answer.body?.errors).toBeUndefined();
    expect(answer.body?.data).toMatchObject({ models: expect.arrayContaining([{ name: 'VINA' }]) });
  });

  it('refuses a GET without a preflight-forcing header (CSRF prevention)', async () => {
    const answer = await getQuery(server.url, '{ models { name } }', {});
    expect(answer.status).toBe(400);
    expect(answer.body?.data).toBeUndefined();
  });

  it('refuses a mutation over GET with 405 and writes nothing', async () => {
    const before = (await server.request('{ jobs(first: 100) { nodes { id } } }')).data as { jobs: { nodes: unknown[] } };
    const mutation = `mutation { submitPrediction(input: { model: VINA, protein: { sequence: "MENFQKVEKIGEGTYG" }, ligand: { smiles: "CCO" } }) { job { id } } }`;
    const answer = await getQuery(server.url, mutation);
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toMatch(/POST/);
    const after = (await server.request('{ jobs(first: 100) { nodes { id } } }')).data as { jobs: { nodes: unknown[] } };
    expect(after.jobs.nodes).toHaveLength(before.jobs.nodes.length);
  });

  it('answers a body that is not JSON with 400', async () => {
    const answer = await call(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: GRAPHQL_RESPONSE },
      body: '{"query": "{ models { name } }"',
    });
    expect(answer.status).toBe(400);
    expect(codes(answer)).toEqual(['BAD_REQUEST']);
  });

  it('answers an unknown path with 404', async () => {
    expect((await call(`${server.url}/graphq`)).status).toBe(404);
    expect((await call(`${server.url}/`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('answers /healthz and /readyz with 200', async () => {
    expect((await call(`${server.url}/healthz`)).status).toBe(200);
    expect((await call(`${server.url}/readyz`)).status).toBe(200);
  });

  it('exposes request, job and queue metrics at /metrics', async () => {
    const submitted = await server.request(SUBMIT, { input: submitInput });
    expect(submitted.errors).toBeUndefined();
    await postJson(server.url, { query: '{ nope }' });
    const answer = await call(`${server.url}/metrics`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(answer.text).toMatch(
      /^omtx_graphql_requests_total\{[^}]*operation="anonymous"[^}]*type="mutation"[^}]*outcome="ok"[^}]*\} [1-9]/m,
    );
    expect(answer.text).toMatch(/^omtx_jobs\{status="QUEUED"\} [1-9]/m);
    expect(answer.text).toMatch(/^omtx_queue_depth [1-9]/m);
  });

  it('echoes x-request-id when sent and generates one when not', async () => {
    const sent = await postJson(server.url, { query: '{ models { name } }' }, { 'x-request-id': 'trace-abc-123' });
    expect(sent.headers.get('x-request-id')).toBe('trace-abc-123');
    const generated = await postJson(server.url, { query: '{ models { name } }' });
    const id = generated.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{16,}$/i);
    const another = await postJson(server.url, { query: '{ models { name } }' });
    expect(another.headers.get('x-request-id')).not.toBe(id);
    // Every route answers with it, errors outside GraphQL included.
    for (const path of ['/healthz', '/readyz', '/metrics', '/nowhere']) {
      expect(
        (await call(`${server.url}${path}`, { headers: { 'x-request-id': `probe${path}` } })).headers.get('x-request-id'),
      ).toBe(`probe${path}`);
    }
    const notJson = await call(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'bad-json' },
      body: '{',
    });
    expect(notJson.headers.get('x-request-id')).toBe('bad-json');
  });

  it('refuses a subscription over HTTP with 400, since subscriptions are served over WebSocket', async () => {
    const answer = await postJson(server.url, { query: 'subscription { jobUpdated(id: "x") { id } }' });
    expect(answer.status).toBe(400);
    expect(answer.body?.data ?? null).toBeNull();
    expect(codes(answer)).toEqual(['BAD_REQUEST']);
    expect(answer.body?.errors?.[0]?.message).toMatch(/WebSocket/);
  });

  it('answers an operationName that names no operation with 400', async () => {
    const answer = await postJson(server.url, { query: 'query A { models { name } }', operationName: 'B' });
    expect(answer.status).toBe(400);
    expect(codes(answer)).toEqual(['OPERATION_RESOLUTION_FAILURE']);
  });

  it('answers a burst of 200 malformed requests without a single 5xx', async () => {
    const url = `${server.url}/graphql`;
    const json = { 'content-type': 'application/json', accept: GRAPHQL_RESPONSE };
    const garbage: (() => Promise<Answer>)[] = [
      () => call(url, { method: 'POST', headers: json, body: '' }),
      () => call(url, { method: 'POST', headers: json, body: 'null' }),
      () => call(url, { method: 'POST', headers: json, body: '[]' }),
      () => call(url, { method: 'POST', headers: json, body: '"{ models { name } }"' }),
      () => call(url, { method: 'POST', headers: json, body: '{"query": 5}' }),
      () => call(url, { method: 'POST', headers: json, body: '{"query": null}' }),
      () => call(url, { method: 'POST', headers: json, body: '{"query": "{"}' }),
      () => call(url, { method: 'POST', headers: json, body: '{"query": "{ models { name } }", "variables": "x"}' }),
      () => call(url, { method: 'POST', headers: json, body: '{"query": "{ models { name } }", "variables": [1]}' }),
      () => call(url, { method: 'POST', headers: json, body: '{"query": "{ models { name } }", "operationName": 7}' }),
      () => call(url, { method: 'POST', headers: json, body: '{"query": "{ models { name } }", "operationName": "Nope"}' }),
      () => call(url, { method: 'POST', headers: json, body: '{"query": "{ models { name } }", "extensions": "x"}' }),
      () =>
        call(url, { method: 'POST', headers: json, body: '{"query": "query A { models { name } } query A { viewer { id } }"}' }),
      () =>
        call(url, {
          method: 'POST',
          headers: json,
          body: '{"query": "query ($n: Int!) { jobs(first: $n) { nodes { id } } }", "variables": {"n": "x"}}',
        }),
      () =>
        call(url, { method: 'POST', headers: json, body: '{"query": "query ($n: Int!) { jobs(first: $n) { nodes { id } } }"}' }),
      () => call(url, { method: 'POST', headers: json, body: '{"query": "mutation { submitPrediction }"}' }),
      () => call(url, { method: 'POST', headers: json, body: '{"query": "subscription { jobUpdated(id: \\"x\\") { id } }"}' }),
      () =>
        call(url, {
          method: 'POST',
          headers: json,
          body: '{"query": "{ node(id: \\"\\u0000\\") { id } job(id: \\"\\") { id } }"}',
        }),
      () => call(url, { method: 'POST', headers: json, body: `{"query": ${JSON.stringify('{'.repeat(500))}}` }),
      () => call(url, { method: 'POST', headers: json, body: '['.repeat(5000) + ']'.repeat(5000) }),
      () => call(url, { method: 'POST', headers: json, body: new Uint8Array([0xff, 0xfe, 0x00, 0x7b, 0xc3]) }),
      () => call(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{ models { name } }' }),
      () => call(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=%7B%7D' }),
      () => call(url, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-16' }, body: '{}' }),
      () => call(url, { method: 'POST', headers: { 'content-type': 'application/graphql' }, body: '{ models { name } }' }),
      () => call(url, { method: 'PUT', headers: json, body: '{"query": "{ models { name } }"}' }),
      () => call(url, { method: 'DELETE', headers: json }),
      () => call(url, { method: 'PATCH', headers: json, body: '{}' }),
      () => call(`${url}?query=%7B`, { headers: { ...PREFLIGHT, accept: GRAPHQL_RESPONSE } }),
      () => call(`${url}?query=${encodeURIComponent('{ models { name } }')}&variables=%7Bnope`, { headers: { ...PREFLIGHT } }),
      () => call(`${url}?query=${encodeURIComponent('{ models { name } }')}&extensions=%5B`, { headers: { ...PREFLIGHT } }),
      () => call(`${url}?%zz=%%`, { headers: { ...PREFLIGHT } }),
      () => call(url, { headers: { ...PREFLIGHT, accept: 'text/html' } }),
      () => call(`${url}/assets/../../etc/passwd`),
      () => call(`${server.url}/artifacts/${'..%2F'.repeat(5)}etc/passwd`),
      () => call(`${server.url}/artifacts/nope?expires=abc&sig=%%`),
      () => postJson(server.url, { query: '{ jobs(after: "x") { nodes { id } } }' }),
      () => postJson(server.url, { query: '{ job(id: 1) { id } batch(id: null) { id } }' }),
      () => postJson(server.url, { query: SUBMIT, variables: { input: { model: 'VINA' } } }),
      () => postJson(server.url, { query: SUBMIT, variables: { input: { ...submitInput, ligand: { smiles: '(((' } } } }),
    ];
    const answers: (Answer & { kind: number })[] = [];
    // 20 at a time: a burst, but within what one test process can open at once.
    for (let start = 0; start < 200; start += 20) {
      const batch = Array.from({ length: 20 }, (_, i) => (start + i) % garbage.length);
      answers.push(...(await Promise.all(batch.map(async (kind) => ({ ...(await garbage[kind]!()), kind })))));
    }
    expect(answers).toHaveLength(200);
    const failures = answers.filter((a) => a.status >= 500 || codes(a).includes('INTERNAL'));
    expect(failures.map((a) => `#${a.kind}: ${a.status} ${a.text.slice(0, 200)}`)).toEqual([]);
    // Still serving after it.
    expect((await server.request('{ models { name } }')).errors).toBeUndefined();
  });
});

describe('request limits', () => {
  let server: TestServer;
  const DEEP = '{ jobs { edges { node { batch { jobs { edges { node { id } } } } } } } }'; // depth 8
  const SHALLOW = '{ jobs { edges { node { id } } } }'; // depth 4

  beforeAll(async () => {
    server = await startTestServer({ OMTX_MAX_BODY_BYTES: '2048', OMTX_MAX_QUERY_DEPTH: '5', OMTX_MAX_ALIASES: '3' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers a body over OMTX_MAX_BODY_BYTES with 413', async () => {
    const query = `{ models { name } } # ${'x'.repeat(4096)}`;
    const answer = await postJson(server.url, { query });
    expect(answer.status).toBe(413);
    expect(answer.body?.data).toBeUndefined();
    expect(codes(answer)).toEqual(['BAD_REQUEST']);
    // A body just under the limit is fine.
    const fits = await postJson(server.url, { query: `{ models { name } } # ${'x'.repeat(1500)}` });
    expect(fits.status).toBe(200);
  });

  it('answers a streamed body (no content-length) over the limit with 413', async () => {
    const chunk = new TextEncoder().encode(`{"query": "{ models { name } }", "pad": "${'x'.repeat(1000)}`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 4) controller.enqueue(chunk);
        else {
          controller.enqueue(new TextEncoder().encode('"}'));
          controller.close();
        }
      },
    });
    const answer = await call(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: GRAPHQL_RESPONSE },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(answer.status).toBe(413);
  });

  it(`refuses a query deeper than OMTX_MAX_QUERY_DEPTH before execution`, async () => {
    const answer = await postJson(server.url, { query: DEEP });
    expect(answer.status).toBe(400);
    expect(answer.body?.data).toBeUndefined();
    expect(codes(answer)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(answer.body?.errors?.[0]?.message).toMatch(/depth/i);
    expect((await postJson(server.url, { query: SHALLOW })).status).toBe(200);
  });

  it('refuses a subscription deeper than OMTX_MAX_QUERY_DEPTH over WebSocket', async () => {
    const deep = 'subscription ($id: ID!) { jobUpdated(id: $id) { batch { jobs { edges { node { batch { id } } } } } } }';
    const { done } = collect(server.wsClient(), deep, { id: 'any' });
    const error = await done.then(
      () => null,
      (e: unknown) => e,
    );
    expect(Array.isArray(error)).toBe(true);
    expect(String((error as { message: string }[])[0]?.message)).toMatch(/depth/i);
  });

  it('refuses a query deeper than the limit over WebSocket too', async () => {
    const { done } = collect(server.wsClient(), DEEP, {});
    await expect(done).rejects.toEqual([expect.objectContaining({ message: expect.stringMatching(/depth/i) })]);
  });

  it('refuses more aliases than OMTX_MAX_ALIASES', async () => {
    const answer = await postJson(server.url, {
      query: '{ a: models { name } b: models { name } c: models { name } d: models { name } }',
    });
    expect(answer.status).toBe(400);
    expect(answer.body?.data).toBeUndefined();
    expect(answer.body?.errors?.[0]?.message).toMatch(/alias/i);
    const three = await postJson(server.url, { query: '{ a: models { name } b: models { name } c: models { name } }' });
    expect(three.status).toBe(200);
  });
});

describe('graceful shutdown', () => {
  it('completes subscriptions, refuses readiness, finishes the in-flight request, then resolves close', async () => {
    const server = await startTestServer(); // no worker: the job stays QUEUED, its subscription open
    const submitted = await server.request(SUBMIT, { input: submitInput });
    const jobId = (submitted.data as { submitPrediction: { job: { id: string } } }).submitPrediction.job.id;

    // Our own client: TestServer.close() disposes the clients it made before stopping, and
    // here the server must be the one that ends the subscription.
    const client = createClient({
      url: `${server.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    let firstEvent!: () => void;
    const gotFirst = new Promise<void>((resolve) => (firstEvent = resolve));
    const events: unknown[] = [];
    const ended = new Promise<string>((resolve) => {
      client.subscribe(
        { query: 'subscription ($id: ID!) { jobUpdated(id: $id) { id status } }', variables: { id: jobId } },
        {
          next: (value) => {
            events.push(value.data);
            firstEvent();
          },
          complete: () => resolve('complete'),
          error: (e) =>
            resolve(typeof e === 'object' && e !== null && 'code' in e ? `close ${String(e.code)}` : `error ${String(e)}`),
        },
      );
    });
    await gotFirst;
    expect(events[0]).toEqual({ jobUpdated: { id: jobId, status: 'QUEUED' } });

    // An in-flight request: headers sent (the server acknowledged them with 100 Continue),
    // body not yet complete.
    const body = JSON.stringify({ query: '{ job(id: "x") { id } models { name } }' });
    const req = httpRequest(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
    });
    const inFlight = new Promise<{ status: number; text: string } | { error: string }>((resolve) => {
      req.on('response', (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', (e) => resolve({ error: e.message }));
    });
    await new Promise<void>((resolve) => req.once('continue', () => resolve()));
    req.write(body.slice(0, 10));

    const closing = server.close();
    // Readiness during the drain: no answer at all, or 503.
    const ready = await fetch(`${server.url}/readyz`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect([503, 'refused']).toContain(ready);

    expect(await ended).toMatch(/^(complete|close 1001)$/);

    req.end(body.slice(10));
    const answer = await inFlight;
    expect(answer, JSON.stringify(answer)).toMatchObject({ status: 200 });
    expect(JSON.parse((answer as { text: string }).text)).toMatchObject({ data: { job: null, models: expect.any(Array) } });

    await expect(closing).resolves.toBeUndefined();
    await client.dispose();
  });
});
