import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from './blob-store.js';

/** One store under test, with what the suite needs to reach its signed URLs. */
export interface BlobStoreHarness {
  store: BlobStore;
  /**
   * GETs a URL from `store.signedUrl`. The fs store's URLs are served by the API
   * (the harness runs `serveArtifact` on a port-0 server); GCS serves its own, so
   * an emulator harness may rewrite the host.
   */
  fetchSigned(url: string): Promise<Response>;
  /** Stops servers and removes temp data. */
  close(): Promise<void>;
}

/**
 * The behaviour every BlobStore adapter guarantees. Call it from the adapter's
 * test file with a factory that returns a fresh, empty store per test.
 *
 * @example describeBlobStoreContract('FsBlobStore', async () => ({ store, fetchSigned: fetch, close }));
 */
export function describeBlobStoreContract(name: string, makeStore: () => Promise<BlobStoreHarness>): void {
  describe(`${name} (BlobStore contract)`, () => {
    let harness: BlobStoreHarness;
    let store: BlobStore;

    beforeEach(async () => {
      harness = await makeStore();
      store = harness.store;
    });
    afterEach(async () => {
      await harness.close();
    });

    const inAnHour = () => new Date(Date.now() + 3_600_000);

    it('returns what was put, bytes and content type, from get and stat', async () => {
      const key = 'batches/b1/jobs/j1/structure.cif';
      const body = Uint8Array.from([0, 1, 2, 254, 255, 10, 13]);
      const info = await store.put(key, body, 'chemical/x-cif');
      expect(info).toEqual({ key, contentType: 'chemical/x-cif', sizeBytes: 7 });
      expect(await store.stat(key)).toEqual(info);
      const got = await store.get(key);
      expect(got?.info).toEqual(info);
      expect(Buffer.compare(got!.body, Buffer.from(body))).toBe(0);
    });

    it('stores a string body as UTF-8 and counts its size in bytes', async () => {
      const info = await store.put('jobs/j1/results.json', '{"ligand":"é"}', 'application/json; charset=utf-8');
      expect(info.sizeBytes).toBe(Buffer.byteLength('{"ligand":"é"}'));
      const got = await store.get('jobs/j1/results.json');
      expect(got?.body.toString('utf8')).toBe('{"ligand":"é"}');
      expect(got?.info.contentType).toBe('application/json; charset=utf-8');
    });

    it('stores an empty body', async () => {
      await store.put('jobs/j1/logs.txt', '', 'text/plain');
      expect(await store.stat('jobs/j1/logs.txt')).toEqual({ key: 'jobs/j1/logs.txt', contentType: 'text/plain', sizeBytes: 0 });
    });

    it('replaces the bytes and the content type on overwrite', async () => {
      await store.put('batches/b1/summary.json', 'first, and longer', 'text/plain');
      await store.put('batches/b1/summary.json', '{}', 'application/json');
      const got = await store.get('batches/b1/summary.json');
      expect(got?.body.toString()).toBe('{}');
      expect(got?.info).toEqual({ key: 'batches/b1/summary.json', contentType: 'application/json', sizeBytes: 2 });
    });

    it('refuses a content type that is not a media type (a header injection) and stores nothing', async () => {
      await expect(store.put('jobs/j1/x', 'x', 'text/plain\r\nX-Evil: 1')).rejects.toThrow(/invalid content type/);
      expect(await store.stat('jobs/j1/x')).toBeNull();
    });

    it('answers null for a key that was never stored', async () => {
      expect(await store.get('jobs/nope/results.json')).toBeNull();
      expect(await store.stat('jobs/nope/results.json')).toBeNull();
    });

    it('keeps sibling keys apart', async () => {
      await store.put('batches/b1/jobs/j1/results.json', 'one', 'application/json');
      await store.put('batches/b1/jobs/j2/results.json', 'two', 'application/json');
      expect((await store.get('batches/b1/jobs/j1/results.json'))?.body.toString()).toBe('one');
      expect((await store.get('batches/b1/jobs/j2/results.json'))?.body.toString()).toBe('two');
    });

    it('deletes a blob, and deleting a missing one is not an error', async () => {
      await store.put('jobs/j1/input.json', '{}', 'application/json');
      await store.delete('jobs/j1/input.json');
      expect(await store.get('jobs/j1/input.json')).toBeNull();
      expect(await store.stat('jobs/j1/input.json')).toBeNull();
      await expect(store.delete('jobs/j1/input.json')).resolves.toBeUndefined();
    });

    it('never lets a reader see part of a write while the key is overwritten', async () => {
      const key = 'batches/b1/batch_results.csv';
      const versions = ['a', 'b', 'c', 'd', 'e'].map((c) => c.repeat(256 * 1024));
      await store.put(key, versions[0]!, 'text/csv');
      const reads: Array<Promise<{ body: Buffer } | null>> = [];
      const writes = versions.map(async (body) => {
        reads.push(store.get(key));
        await store.put(key, body, 'text/csv');
      });
      await Promise.all(writes);
      for (const read of await Promise.all(reads)) {
        expect(versions).toContain(read?.body.toString());
      }
      expect(versions).toContain((await store.get(key))?.body.toString());
    });

    it('gives a signed URL that serves the bytes and content type before it expires', async () => {
      const key = 'batches/b1/jobs/j1/results.json';
      await store.put(key, '{"affinity":-7.2}', 'application/json');
      const res = await harness.fetchSigned(await store.signedUrl(key, inAnHour()));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.text()).toBe('{"affinity":-7.2}');
    });

    it('signs keys whose segments need percent-encoding', async () => {
      const key = 'batches/b 1/jobs/ligand #7 (ü)/pose.sdf';
      await store.put(key, 'M  END', 'chemical/x-mdl-sdfile');
      const res = await harness.fetchSigned(await store.signedUrl(key, inAnHour()));
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('M  END');
    });
  });
}
