import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MsaServerError } from '../../ports/msa-provider.js';
import {
  fakeAlignments,
  startFakeMsaServer,
  type FakeMsaServer,
  type FakeMsaServerOptions,
} from '../../../test/support/fake-msa-server.js';
import { BOLTZ_MAX_MSA_SEQS, gatherA3mLines, MalformedA3mError, unpairedMsaCsv } from './a3m.js';
import { ColabFoldMsaClient, type ColabFoldMsaClientOptions } from './colabfold-msa-client.js';

const SEQUENCE = 'MKTAYIAKQRQISFVKSHFSRQ';

const servers: FakeMsaServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function fakeServer(options: FakeMsaServerOptions = {}): Promise<FakeMsaServer> {
  const server = await startFakeMsaServer(options);
  servers.push(server);
  return server;
}

function clientOf(server: { url: string }, options: Partial<ColabFoldMsaClientOptions> = {}): ColabFoldMsaClient {
  return new ColabFoldMsaClient({ url: server.url, pollIntervalMs: 1, ...options });
}

async function failureOf(search: Promise<string>): Promise<MsaServerError> {
  const error = await search.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof MsaServerError)) throw new Error(`expected an MsaServerError, got ${String(error)}`);
  return error;
}

describe('ColabFoldMsaClient', () => {
  it('writes the CSV Boltz writes: each file’s query and hits in order, key -1, no final newline', async () => {
    const server = await fakeServer({
      alignments: (sequence) => ({
        uniref: `>101\n${sequence}\n>UniRef100_P1\t120\t0.9\nMKTAYIAKQRQ-SFVKSHFSRQ\n>UniRef100_P2\t98\t0.7\nMKTAYIAKQRQksISFVKSHFSRQ\n`,
        env: `>101\n${sequence}\n>MGYP0001\t77\t0.6\n--TAYIAKQRQISFVKSHFSRQ\n`,
      }),
    });

    const csv = await clientOf(server).search(SEQUENCE);

    expect(csv).toBe(
      [
        'key,sequence',
        `-1,${SEQUENCE}`,
        '-1,MKTAYIAKQRQ-SFVKSHFSRQ',
        '-1,MKTAYIAKQRQksISFVKSHFSRQ',
        `-1,${SEQUENCE}`,
        '-1,--TAYIAKQRQISFVKSHFSRQ',
      ].join('\n'),
    );
  });

  it('submits the sequence as query 101 in mode env, as a form, as Boltz does for one chain', async () => {
    const server = await fakeServer();

    await clientOf(server).search(SEQUENCE);

    const [submit] = server.requests.filter((r) => r.endpoint === 'submit');
    expect(submit?.form).toEqual({ q: `>101\n${SEQUENCE}\n`, mode: 'env' });
    expect(submit?.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(server.sequences()).toEqual([SEQUENCE]);
  });

  it('keeps at most Boltz’s max_msa_seqs rows, the query first', async () => {
    const hits = (prefix: string, n: number) =>
      Array.from(
        { length: n },
        (_, i) => `>${prefix}${i}\t50\n${SEQUENCE.slice(0, 5)}${String.fromCharCode(97 + (i % 26))}${SEQUENCE.slice(5)}\n`,
      ).join('');
    const server = await fakeServer({
      alignments: (sequence) => ({
        uniref: `>101\n${sequence}\n${hits('U', 9_000)}`,
        env: `>101\n${sequence}\n${hits('E', 9_000)}`,
      }),
    });

    const rows = (await clientOf(server).search(SEQUENCE)).split('\n');

    expect(BOLTZ_MAX_MSA_SEQS).toBe(16_384);
    expect(rows).toHaveLength(1 + BOLTZ_MAX_MSA_SEQS);
    expect(rows[1]).toBe(`-1,${SEQUENCE}`);
    // 9,001 rows from uniref.a3m, then env's query and its first 7,382 hits.
    expect(rows.at(-1)).toBe(`-1,${SEQUENCE.slice(0, 5)}${String.fromCharCode(97 + (7_381 % 26))}${SEQUENCE.slice(5)}`);
    expect(rows.every((row, i) => i === 0 || row.startsWith('-1,'))).toBe(true);
  });

  it('polls through PENDING and RUNNING, then submits and downloads exactly once', async () => {
    const server = await fakeServer({ pendingPolls: 2, runningPolls: 3 });

    const csv = await clientOf(server).search(SEQUENCE);

    expect(csv.split('\n')).toHaveLength(1 + 7); // the header, then fakeAlignments' 1 + 3 rows in uniref, 1 + 2 in env
    expect(server.count('submit')).toBe(1);
    expect(server.count('status')).toBe(6);
    expect(server.count('download')).toBe(1);
  });

  it('waits and submits again while the server answers RATELIMIT or UNKNOWN', async () => {
    const server = await fakeServer({ submitStatuses: ['RATELIMIT', 'UNKNOWN', 'RATELIMIT'] });

    const csv = await clientOf(server).search(SEQUENCE);

    expect(csv.split('\n')[1]).toBe(`-1,${SEQUENCE}`);
    expect(server.count('submit')).toBe(4);
    expect(server.count('download')).toBe(1);
  });

  it('fails for good, asking to check the sequence, when the job ends in ERROR', async () => {
    const server = await fakeServer({ runningPolls: 1, outcome: 'ERROR' });

    const error = await failureOf(clientOf(server).search(SEQUENCE));

    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/valid protein sequence/);
    expect(server.count('download')).toBe(0);
  });

  it('fails for good when the submission itself is answered ERROR', async () => {
    const server = await fakeServer({ submitStatuses: ['ERROR'] });

    const error = await failureOf(clientOf(server).search(SEQUENCE));

    expect(error.retryable).toBe(false);
    expect(server.count('submit')).toBe(1);
  });

  it('reports MAINTENANCE as retryable, and a later search goes through', async () => {
    const server = await fakeServer({ submitStatuses: ['MAINTENANCE'] });
    const client = clientOf(server);

    const error = await failureOf(client.search(SEQUENCE));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/maintenance/);

    await expect(client.search(SEQUENCE)).resolves.toMatch(/^key,sequence\n/);
  });

  it('retries a server answering 500, then reports it down as retryable', async () => {
    const server = await fakeServer({ httpFailures: { submit: { status: 500 } } });

    const error = await failureOf(clientOf(server, { maxRetries: 2 }).search(SEQUENCE));

    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/failed 3 times, last with: HTTP 500/);
    expect(server.count('submit')).toBe(3);
  });

  it('rides out passing 5xx answers to any request', async () => {
    const server = await fakeServer({
      runningPolls: 1,
      httpFailures: { submit: { status: 503, times: 1 }, status: { status: 502, times: 2 }, download: { status: 500, times: 1 } },
    });

    await expect(clientOf(server).search(SEQUENCE)).resolves.toMatch(/^key,sequence\n-1,/);
    expect(server.count('submit')).toBe(2);
    expect(server.count('download')).toBe(2);
  });

  it('reports an unreachable server as retryable once the retries are spent', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));

    const error = await failureOf(clientOf({ url }, { maxRetries: 1 }).search(SEQUENCE));

    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/failed 2 times, last with: fetch failed \(.*ECONNREFUSED/);
  });

  it('downloads again when the archive arrives unreadable', async () => {
    const server = await fakeServer();
    let garbled = 0;
    const fetchGarblingOnce: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).includes('/result/download/') || garbled++ > 0) return response;
      return new Response('<html>proxy error</html>', { status: 200 });
    };

    await expect(clientOf(server, { fetch: fetchGarblingOnce }).search(SEQUENCE)).resolves.toMatch(/^key,sequence\n/);
    expect(server.count('download')).toBe(2);
  });

  it('stops when the caller aborts, rejecting with the caller’s reason', async () => {
    const controller = new AbortController();
    const reason = new Error('batch cancelled');
    const server = await fakeServer({
      runningPolls: Infinity,
      onRequest: (request) => {
        if (request.endpoint === 'status') controller.abort(reason);
      },
    });

    await expect(clientOf(server).search(SEQUENCE, controller.signal)).rejects.toBe(reason);
    expect(server.count('status')).toBe(1);
  });

  it('asks nothing when the signal is already aborted', async () => {
    const server = await fakeServer();

    await expect(clientOf(server).search(SEQUENCE, AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.requests).toHaveLength(0);
  });

  it('gives up with a retryable error after timeLimitMs', async () => {
    const server = await fakeServer({ runningPolls: Infinity });

    const error = await failureOf(clientOf(server, { timeLimitMs: 50 }).search(SEQUENCE));

    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/no result within 0.05 s/);
  });

  it('sends basic credentials with every request', async () => {
    const server = await fakeServer({ basicAuth: { username: 'omtx', password: 's3cret' } });

    await clientOf(server, { auth: { type: 'basic', username: 'omtx', password: 's3cret' } }).search(SEQUENCE);

    const expected = `Basic ${Buffer.from('omtx:s3cret').toString('base64')}`;
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(server.requests.map(() => expected));
  });

  it('fails for good, naming the credentials, when the server refuses them', async () => {
    const server = await fakeServer({ basicAuth: { username: 'omtx', password: 's3cret' } });

    const error = await failureOf(
      clientOf(server, { auth: { type: 'basic', username: 'omtx', password: 'wrong' } }).search(SEQUENCE),
    );

    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/refused the credentials \(HTTP 401/);
    expect(server.count('submit')).toBe(1);
  });

  it('sends an API key in the header it is told, X-API-Key by default', async () => {
    const custom = await fakeServer({ apiKey: { header: 'X-Hub-Token', value: 'k1' } });
    const standard = await fakeServer({ apiKey: { header: 'X-API-Key', value: 'k2' } });

    await expect(
      clientOf(custom, { auth: { type: 'header', header: 'X-Hub-Token', value: 'k1' } }).search(SEQUENCE),
    ).resolves.toBeTruthy();
    await expect(clientOf(standard, { auth: { type: 'header', value: 'k2' } }).search(SEQUENCE)).resolves.toBeTruthy();
    expect(standard.requests[0]?.headers['x-api-key']).toBe('k2');
  });

  it('names itself in User-Agent', async () => {
    const server = await fakeServer();

    await clientOf(server).search(SEQUENCE);
    await clientOf(server, { userAgent: 'omtx-hub-worker/1.2' }).search(SEQUENCE);

    const agents = new Set(server.requests.map((r) => r.headers['user-agent']));
    expect(agents).toEqual(new Set(['omtx-hub', 'omtx-hub-worker/1.2']));
  });

  it('refuses, without asking the server, a sequence that would break the FASTA record', async () => {
    const server = await fakeServer();

    const error = await failureOf(clientOf(server).search('MKTAY\n>102\nIAKQR'));

    expect(error.retryable).toBe(false);
    expect(server.requests).toHaveLength(0);
  });

  it('keeps a path prefix of the server URL', async () => {
    const server = await fakeServer();
    let seen = '';
    const recording: typeof fetch = (input, init) => {
      seen = String(input);
      return fetch(String(input).replace('/msa-api', ''), init);
    };

    await clientOf({ url: `${server.url}/msa-api/` }, { fetch: recording }).search(SEQUENCE);

    expect(seen).toMatch(new RegExp(`^${server.url}/msa-api/result/download/[^/]+$`));
  });
});

describe('unpairedMsaCsv', () => {
  it('gathers each query’s lines by the header that follows a NUL, as Boltz’s run_mmseqs2', () => {
    const file = '>101\nAAA\n>h1\tx\nAAC\n\0>102\nCCC\n>h2\nCCD\n\0';

    const byQuery = gatherA3mLines([file]);

    expect(Object.fromEntries(byQuery)).toEqual({
      101: ['>101\n', 'AAA\n', '>h1\tx\n', 'AAC\n'],
      102: ['>102\n', 'CCC\n', '>h2\n', 'CCD\n', ''],
    });
    expect(unpairedMsaCsv([file, '>102\nCCC\n>e\nC-D\n\0'], 102)).toBe('key,sequence\n-1,CCC\n-1,CCD\n-1,CCC\n-1,C-D');
  });

  it('reads CRLF files as Python’s text mode does', () => {
    expect(unpairedMsaCsv(['>101\r\nAAA\r\n>h\r\nAaC\r\n\0'])).toBe('key,sequence\n-1,AAA\n-1,AaC');
  });

  it('rejects a result without the query’s alignment', () => {
    expect(() => unpairedMsaCsv(['>102\nCCC\n\0'])).toThrow(MalformedA3mError);
    expect(() => unpairedMsaCsv(['AAA\n'])).toThrow(/start with a query header/);
  });

  it('matches the stand-in’s default alignments', () => {
    const { uniref, env } = fakeAlignments('MKV');
    expect(unpairedMsaCsv([uniref, env])).toBe('key,sequence\n-1,MKV\n-1,AKV\n-1,M-V\n-1,MksKV\n-1,MKV\n-1,-KV\n-1,M-gV');
  });
});
