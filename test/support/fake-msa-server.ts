/**
 * A stand-in for an MSA server speaking ColabFold's MMseqs2 API (what `boltz predict
 * --use_msa_server` and our `ColabFoldMsaClient` call), on a real node:http port:
 *
 * - `POST /ticket/msa` (form fields `q`, a FASTA of queries `>101`, `>102`, …, and `mode`)
 *   → `{ id, status }`; the same `q` and `mode` get the same ticket back, as on the real
 *   server, which keys jobs by their request.
 * - `GET /ticket/{id}` → `{ id, status }`: PENDING, RUNNING, then the outcome; an unknown id
 *   is UNKNOWN.
 * - `GET /result/download/{id}` → a real tar.gz made with `tar.c`, holding what a `mode: env`
 *   result holds: `uniref.a3m`, `bfd.mgnify30.metaeuk30.smag30.a3m`, `pdb70.m8`, `msa.sh`.
 *   Each A3M file is in MMseqs2 database format: per query, its own row `>101` first, then
 *   hits (ColabFold-style headers, gaps `-`, lowercase insertions), the alignment ended by a
 *   NUL, so a file for two queries reads `>101\n…\n\0>102\n…\n\0`.
 *
 * Scripted trouble: `submitStatuses` (answered to the first submissions, e.g. RATELIMIT),
 * `pendingPolls`/`runningPolls` (each job's polls before its `outcome`), `outcome` (COMPLETE,
 * ERROR, MAINTENANCE), `httpFailures` (plain-text HTTP errors per endpoint), required
 * credentials (`basicAuth`, `apiKey`; 401 otherwise). Every request is recorded in
 * `requests` (and passed to `onRequest` as it arrives), so a test can count submissions,
 * read the sequences asked for and the headers sent, or abort at a chosen moment.
 *
 * ```ts
 * const msa = await startFakeMsaServer({ runningPolls: 2 });
 * const client = new ColabFoldMsaClient({ url: msa.url, pollIntervalMs: 1 });
 * const csv = await client.search('MKTAYIAKQR');
 * expect(csv.split('\n').slice(0, 2)).toEqual(['key,sequence', '-1,MKTAYIAKQR']);
 * expect(msa.count('submit')).toBe(1);
 * await msa.close();
 * ```
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create as createTar } from 'tar';

export type MsaEndpoint = 'submit' | 'status' | 'download';

/** Statuses the real server (or the proxy before api.colabfold.com) answers to a submission instead of queueing it. */
export type SubmitRefusal = 'RATELIMIT' | 'UNKNOWN' | 'MAINTENANCE' | 'ERROR';

/** The two A3M files of one query's result, without the NUL that ends each alignment. */
export interface QueryAlignments {
  uniref: string;
  env: string;
}

export interface FakeMsaServerOptions {
  /** Answered, in order, to the first submissions (RATELIMIT comes with HTTP 429, as from the real server). @default [] */
  submitStatuses?: SubmitRefusal[];
  /** Polls of each new job answered PENDING. @default 0 */
  pendingPolls?: number;
  /** Polls after those answered RUNNING; `Infinity` keeps the job running. @default 0 */
  runningPolls?: number;
  /** Where each job ends. @default 'COMPLETE' */
  outcome?: 'COMPLETE' | 'ERROR' | 'MAINTENANCE';
  /** A plain-text HTTP error for the first `times` requests to an endpoint, e.g. `{ submit: { status: 500 } }`. */
  httpFailures?: Partial<Record<MsaEndpoint, { status: number; /** @default Infinity */ times?: number }>>;
  /** Credentials every request must carry, as HTTP basic auth. */
  basicAuth?: { username: string; password: string };
  /** Credentials every request must carry, as a header. */
  apiKey?: { header: string; value: string };
  /** What the result holds for the query numbered `queryId` (101 for the first). @default fakeAlignments */
  alignments?: (sequence: string, queryId: number) => QueryAlignments;
  /** Called as each request arrives, before it is answered. */
  onRequest?: (request: RecordedMsaRequest) => void;
}

export interface RecordedMsaRequest {
  endpoint: MsaEndpoint | 'other';
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The form of a submission. */
  form?: { q: string; mode: string };
  ticketId?: string;
}

export interface FakeMsaServer {
  /** Base URL to give the client, e.g. `http://127.0.0.1:40123`. */
  url: string;
  requests: RecordedMsaRequest[];
  /** Requests to one endpoint so far. */
  count(endpoint: MsaEndpoint): number;
  /** The query sequences of every submission, in order. */
  sequences(): string[];
  close(): Promise<void>;
}

interface FakeJob {
  id: string;
  queries: string[];
  polls: number;
  archive?: Promise<Buffer>;
}

/**
 * The default result for a query: in each file the query first, then hits in ColabFold's
 * A3M form (substitutions, gaps `-`, lowercase insertions), three in `uniref`, two in `env`.
 */
export function fakeAlignments(sequence: string, queryId = 101): QueryAlignments {
  const hit = (name: string, row: string) =>
    `>${name}\t${80 + row.length}\t0.850\t1.2E-20\t0\t${sequence.length - 1}\t${sequence.length}\n${row}\n`;
  const mutate = (index: number, letter: string) => sequence.slice(0, index) + letter + sequence.slice(index + 1);
  const middle = Math.floor(sequence.length / 2);
  const query = `>${queryId}\n${sequence}\n`;
  return {
    uniref:
      query +
      hit('UniRef100_A0A0F1', mutate(0, sequence[0] === 'A' ? 'G' : 'A')) +
      hit('UniRef100_A0A0F2', mutate(middle, '-')) +
      hit('UniRef100_A0A0F3', sequence.slice(0, middle) + 'ks' + sequence.slice(middle)),
    env:
      query +
      hit('MGYP000000000001', `-${sequence.slice(1)}`) +
      hit('SRR0000001_1', `${mutate(1, '-').slice(0, -1)}g${sequence.slice(-1)}`),
  };
}

/** Starts the stand-in on a free port of 127.0.0.1. */
export async function startFakeMsaServer(options: FakeMsaServerOptions = {}): Promise<FakeMsaServer> {
  const requests: RecordedMsaRequest[] = [];
  const jobs = new Map<string, FakeJob>();
  const refusals = [...(options.submitStatuses ?? [])];
  const failuresLeft = new Map<MsaEndpoint, number>();
  for (const [endpoint, failure] of Object.entries(options.httpFailures ?? {}) as [MsaEndpoint, { times?: number }][]) {
    failuresLeft.set(endpoint, failure.times ?? Infinity);
  }
  const alignments = options.alignments ?? fakeAlignments;
  const count = (endpoint: MsaEndpoint) => requests.filter((r) => r.endpoint === endpoint).length;

  const statusOf = (job: FakeJob): string => {
    const pending = options.pendingPolls ?? 0;
    if (job.polls <= pending) return 'PENDING';
    if (job.polls <= pending + (options.runningPolls ?? 0)) return 'RUNNING';
    return options.outcome ?? 'COMPLETE';
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: string): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const recorded: RecordedMsaRequest = { endpoint: 'other', method: req.method ?? '', path, headers: req.headers };
    let match: RegExpMatchArray | null;
    if (req.method === 'POST' && path === '/ticket/msa') {
      const form = new URLSearchParams(body);
      recorded.endpoint = 'submit';
      recorded.form = { q: form.get('q') ?? '', mode: form.get('mode') ?? '' };
    } else if (req.method === 'GET' && (match = path.match(/^\/ticket\/([^/]+)$/))) {
      recorded.endpoint = 'status';
      recorded.ticketId = decodeURIComponent(match[1]!);
    } else if (req.method === 'GET' && (match = path.match(/^\/result\/download\/([^/]+)$/))) {
      recorded.endpoint = 'download';
      recorded.ticketId = decodeURIComponent(match[1]!);
    }
    requests.push(recorded);
    options.onRequest?.(recorded);

    if (!authorized(req.headers, options)) return text(res, 401, 'Unauthorized');
    if (recorded.endpoint === 'other') return text(res, 404, '404 page not found');
    const failure = options.httpFailures?.[recorded.endpoint];
    const left = failuresLeft.get(recorded.endpoint) ?? 0;
    if (failure && left > 0) {
      failuresLeft.set(recorded.endpoint, left - 1);
      return text(res, failure.status, `fake failure ${failure.status}`);
    }

    if (recorded.endpoint === 'submit') {
      const refusal = refusals.shift();
      if (refusal === 'RATELIMIT') return json(res, 429, { status: 'RATELIMIT', reason: 'fake rate limit' });
      if (refusal) return json(res, 200, { status: refusal });
      const { q, mode } = recorded.form!;
      const queries = parseQueries(q);
      if (queries.length === 0 || mode === '') return text(res, 400, 'invalid query');
      const id = createHash('sha256').update(`${mode}\n${q}`).digest('base64url').slice(0, 22);
      const existing = jobs.get(id);
      if (existing) return json(res, 200, { id, status: statusOf(existing) });
      jobs.set(id, { id, queries, polls: 0 });
      return json(res, 200, { id, status: 'PENDING' });
    }

    const job = jobs.get(recorded.ticketId!);
    if (recorded.endpoint === 'status') {
      if (!job) return json(res, 200, { id: recorded.ticketId, status: 'UNKNOWN' });
      job.polls++;
      return json(res, 200, { id: job.id, status: statusOf(job) });
    }
    if (!job || statusOf(job) !== 'COMPLETE') return text(res, 400, 'job is not complete');
    job.archive ??= resultArchive(job.queries.map((sequence, index) => alignments(sequence, 101 + index)));
    const archive = await job.archive;
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="mmseqs_results_${job.id}.tar.gz"`,
    });
    res.end(archive);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((error: unknown) => text(res, 500, String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    count,
    sequences: () => requests.flatMap((r) => (r.form ? parseQueries(r.form.q) : [])),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The sequences of a submission's FASTA, in order. */
function parseQueries(fasta: string): string[] {
  return fasta
    .split('>')
    .slice(1)
    .map((record) => record.split('\n').slice(1).join('').trim())
    .filter((sequence) => sequence !== '');
}

function authorized(headers: IncomingHttpHeaders, options: FakeMsaServerOptions): boolean {
  if (options.basicAuth) {
    const { username, password } = options.basicAuth;
    if (headers.authorization !== `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`) return false;
  }
  if (options.apiKey && headers[options.apiKey.header.toLowerCase()] !== options.apiKey.value) return false;
  return true;
}

/** The tar.gz of a `mode: env` result, built from files on disk as the real server does. */
async function resultArchive(results: QueryAlignments[]): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'fake-msa-'));
  try {
    // One alignment per query, each ended by NUL: the MMseqs2 database the server ships as is.
    const database = (pick: (result: QueryAlignments) => string) => results.map((result) => `${pick(result)}\0`).join('');
    await writeFile(
      join(dir, 'uniref.a3m'),
      database((r) => r.uniref),
    );
    await writeFile(
      join(dir, 'bfd.mgnify30.metaeuk30.smag30.a3m'),
      database((r) => r.env),
    );
    await writeFile(join(dir, 'pdb70.m8'), '');
    await writeFile(join(dir, 'msa.sh'), '#!/bin/bash -e\n# fake MSA server\n');
    const file = join(dir, 'out.tar.gz');
    await createTar({ gzip: true, cwd: dir, file, portable: true }, [
      'uniref.a3m',
      'pdb70.m8',
      'bfd.mgnify30.metaeuk30.smag30.a3m',
      'msa.sh',
    ]);
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}
