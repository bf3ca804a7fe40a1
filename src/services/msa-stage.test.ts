import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeMsaServer, type FakeMsaServer } from '../../test/support/fake-msa-server.js';
import { FsBlobStore } from '../adapters/local/fs-blob-store.js';
import { ColabFoldMsaClient } from '../adapters/msa/colabfold-msa-client.js';
import { MsaServerError } from '../ports/msa-provider.js';
import { MsaStage, type MsaSearchOutcome } from './msa-stage.js';

const SEQUENCE = 'MENFQKVEKIGEGTYGVVYKARNKLTGEVVALKKIRL';
const KEY = 'batches/b1/msa/A.csv';

describe('MsaStage', () => {
  let dir: string;
  let blobs: FsBlobStore;
  let server: FakeMsaServer;
  let now: number;
  const faults: unknown[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omtx-msa-stage-'));
    blobs = new FsBlobStore({ rootDir: dir, publicBaseUrl: 'http://127.0.0.1:1', secret: 'x'.repeat(32) });
    now = 0;
    faults.length = 0;
  });
  afterEach(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function stage(options: { maxRetries?: number } = {}) {
    const client = new ColabFoldMsaClient({ url: server.url, pollIntervalMs: 1, maxRetries: options.maxRetries ?? 0 });
    return new MsaStage(blobs, client, {
      retryAfterMs: 60_000,
      giveUpAfterMs: 1_800_000,
      clock: () => now,
      onFault: (e) => faults.push(e),
    });
  }

  it('runs one search per file: a caller arriving while it runs adds nothing, and the CSV is stored', async () => {
    server = await startFakeMsaServer({ runningPolls: 5 });
    const msa = stage();
    const outcomes: MsaSearchOutcome[] = [];
    const record = async (o: MsaSearchOutcome) => void outcomes.push(o);
    expect(msa.search(KEY, SEQUENCE, record)).toBe('started');
    expect(msa.search(KEY, SEQUENCE, record)).toBe('running');
    await msa.idle();
    expect(outcomes).toEqual([{ ok: true }]);
    expect(server.count('submit')).toBe(1);
    const stored = await blobs.get(KEY);
    expect(stored!.info.contentType).toBe('text/csv');
    expect(stored!.body.toString('utf8').split('\n')[1]).toBe(`-1,${SEQUENCE}`);
  });

  it('after a transient failure holds the search back for a while, then searches again', async () => {
    server = await startFakeMsaServer({ httpFailures: { submit: { status: 503, times: 1 } } });
    const msa = stage();
    const outcomes: MsaSearchOutcome[] = [];
    const record = async (o: MsaSearchOutcome) => void outcomes.push(o);
    msa.search(KEY, SEQUENCE, record);
    await msa.idle();
    expect(outcomes[0]).toMatchObject({ ok: false, final: false, error: { retryable: true } });
    now = 59_999;
    expect(msa.search(KEY, SEQUENCE, record)).toBe('held');
    now = 60_000;
    expect(msa.search(KEY, SEQUENCE, record)).toBe('started');
    await msa.idle();
    expect(outcomes[1]).toEqual({ ok: true });
    expect(await blobs.stat(KEY)).not.toBeNull();
  });

  it('gives a file up once its searches have failed for the give-up horizon', async () => {
    server = await startFakeMsaServer({ httpFailures: { submit: { status: 503, times: 1_000 } } });
    const msa = stage();
    const outcomes: MsaSearchOutcome[] = [];
    const record = async (o: MsaSearchOutcome) => void outcomes.push(o);
    for (const at of [0, 60_000, 1_799_999, 1_800_000 + 60_000]) {
      now = at;
      expect(msa.search(KEY, SEQUENCE, record)).toBe('started');
      await msa.idle();
    }
    expect(outcomes.map((o) => !o.ok && o.final)).toEqual([false, false, false, true]);
  });

  it('lets a refused sequence be asked again at once: the refusal is final, there is nothing to wait for', async () => {
    server = await startFakeMsaServer({ outcome: 'ERROR' });
    const msa = stage();
    const outcomes: MsaSearchOutcome[] = [];
    msa.search(KEY, SEQUENCE, async (o) => void outcomes.push(o));
    await msa.idle();
    expect(outcomes[0]).toMatchObject({ ok: false, final: true, error: { retryable: false } });
    expect((outcomes[0] as { error: Error }).error).toBeInstanceOf(MsaServerError);
    expect(msa.search(KEY, SEQUENCE, async () => {})).toBe('started');
    await msa.idle();
    expect(await blobs.stat(KEY)).toBeNull();
  });

  it('reports a fault of what a caller does next, and close() aborts a search in flight', async () => {
    server = await startFakeMsaServer({ runningPolls: Infinity });
    const msa = stage();
    msa.search(KEY, SEQUENCE, async () => {
      throw new Error('queue closed');
    });
    await msa.close();
    expect(faults).toEqual([new Error('queue closed')]);
    expect(await blobs.stat(KEY)).toBeNull();
  });
});
