import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeBlobStoreContract } from '../../ports/blob-store.contract.js';
import { serveArtifact } from '../../server/artifact-route.js';
import { FsBlobStore } from './fs-blob-store.js';
import { InvalidBlobKeyError } from '../../ports/blob-key.js';

/** A store in a fresh temp directory, its artifacts served by a real server on port 0. */
async function startFsStore(): Promise<{ store: FsBlobStore; rootDir: string; baseUrl: string; close(): Promise<void> }> {
  const rootDir = await mkdtemp(join(tmpdir(), 'fs-blob-store-'));
  let store: FsBlobStore | undefined;
  const server: Server = createServer((req, res) => {
    serveArtifact(req, res, store!).then(
      (handled) => {
        if (!handled) res.writeHead(404).end();
      },
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  store = new FsBlobStore({ rootDir, publicBaseUrl: baseUrl, secret: randomBytes(32) });
  return {
    store,
    rootDir,
    baseUrl,
    async close() {
      // Responses a test did not read keep their sockets busy; close() alone would wait for them.
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rm(rootDir, { recursive: true, force: true });
    },
  };
}

describeBlobStoreContract('FsBlobStore', async () => {
  const fs = await startFsStore();
  return { store: fs.store, fetchSigned: (url) => fetch(url), close: fs.close };
});

describe('FsBlobStore', () => {
  let fs: Awaited<ReturnType<typeof startFsStore>>;
  beforeEach(async () => {
    fs = await startFsStore();
  });
  afterEach(async () => {
    await fs.close();
  });

  const inAnHour = () => new Date(Date.now() + 3_600_000);

  it('rejects keys that could escape its root, for every operation', async () => {
    const escapes = [
      '../secret',
      'jobs/../../secret',
      '/etc/passwd',
      'C:/Windows',
      'jobs\\..\\secret',
      'jobs/a\0b',
      'jobs//x',
      'jobs/./x',
      'jobs/x/',
      '',
    ];
    for (const key of escapes) {
      await expect(fs.store.put(key, 'x', 'text/plain'), key).rejects.toBeInstanceOf(InvalidBlobKeyError);
      await expect(fs.store.get(key), key).rejects.toThrow(/invalid blob key/);
      await expect(fs.store.stat(key), key).rejects.toThrow(/invalid blob key/);
      await expect(fs.store.delete(key), key).rejects.toThrow(/invalid blob key/);
      await expect(fs.store.signedUrl(key, inAnHour()), key).rejects.toThrow(/invalid blob key/);
    }
    expect(existsSync(join(fs.rootDir, '..', 'secret'))).toBe(false);
  });

  it('keeps bytes at objects/<key>, and no temp files after writing', async () => {
    await fs.store.put('batches/b1/jobs/j1/results.json', '{}', 'application/json');
    expect(await readFile(join(fs.rootDir, 'objects/batches/b1/jobs/j1/results.json'), 'utf8')).toBe('{}');
    expect(await readdir(join(fs.rootDir, 'tmp'))).toEqual([]);
  });

  it('refuses a signature from a store with another secret', async () => {
    await fs.store.put('jobs/j1/results.json', '{}', 'application/json');
    const other = new FsBlobStore({ rootDir: fs.rootDir, publicBaseUrl: fs.baseUrl, secret: randomBytes(32) });
    expect((await fetch(await other.signedUrl('jobs/j1/results.json', inAnHour()))).status).toBe(403);
  });

  describe('serving signed URLs through serveArtifact', () => {
    const key = 'batches/b1/jobs/j1/structure.cif';
    beforeEach(async () => {
      await fs.store.put(key, 'data_cdk2\n', 'chemical/x-cif');
    });

    it('streams the blob with its type, length and an attachment filename', async () => {
      const res = await fetch(await fs.store.signedUrl(key, inAnHour()));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('chemical/x-cif');
      expect(res.headers.get('content-length')).toBe('10');
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="structure.cif"; filename*=UTF-8''structure.cif`);
      expect(await res.text()).toBe('data_cdk2\n');
    });

    it('answers HEAD with the headers and no body', async () => {
      const res = await fetch(await fs.store.signedUrl(key, inAnHour()), { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe('10');
      expect(await res.text()).toBe('');
    });

    it('answers 403 to a tampered signature, key or expiry', async () => {
      const url = new URL(await fs.store.signedUrl(key, inAnHour()));
      const signature = url.searchParams.get('signature')!;

      const badSignature = new URL(url);
      badSignature.searchParams.set('signature', (signature[0] === 'a' ? 'b' : 'a') + signature.slice(1));
      const otherKey = new URL(url);
      otherKey.pathname = otherKey.pathname.replace('structure.cif', 'results.json');
      const laterExpiry = new URL(url);
      laterExpiry.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 86_400));
      const unsigned = new URL(url);
      unsigned.search = '';

      for (const tampered of [badSignature, otherKey, laterExpiry, unsigned]) {
        const res = await fetch(tampered);
        expect(res.status, tampered.href).toBe(403);
      }
    });

    it('answers 410 Gone once a genuine link has expired', async () => {
      const res = await fetch(await fs.store.signedUrl(key, new Date(Date.now() - 60_000)));
      expect(res.status).toBe(410);
      expect(await res.text()).toMatch(/expired/);
    });

    it('answers 404 to a valid link whose blob was deleted', async () => {
      const url = await fs.store.signedUrl(key, inAnHour());
      await fs.store.delete(key);
      expect((await fetch(url)).status).toBe(404);
    });

    it('answers 405 to anything but GET and HEAD', async () => {
      const res = await fetch(await fs.store.signedUrl(key, inAnHour()), { method: 'DELETE' });
      expect(res.status).toBe(405);
      expect(await fs.store.stat(key)).not.toBeNull();
    });
  });

  it('checks expiry to the second, signature first', () => {
    const expires = '1800000000';
    const url = (k: string) => fs.store.signedUrl(k, new Date(Number(expires) * 1000));
    return url('jobs/j1/x').then((signed) => {
      const signature = new URL(signed).searchParams.get('signature')!;
      expect(fs.store.verifySignedRequest('jobs/j1/x', expires, signature, new Date(1_800_000_000_999))).toBe('valid');
      expect(fs.store.verifySignedRequest('jobs/j1/x', expires, signature, new Date(1_800_000_001_000))).toBe('expired');
      expect(fs.store.verifySignedRequest('jobs/j1/y', expires, signature, new Date(0))).toBe('invalid');
      expect(fs.store.verifySignedRequest('jobs/j1/x', expires, 'zz', new Date(0))).toBe('invalid');
      expect(fs.store.verifySignedRequest('jobs/j1/x', null, signature, new Date(0))).toBe('invalid');
    });
  });
});
