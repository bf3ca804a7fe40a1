import { createHash, createVerify, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Storage } from '@google-cloud/storage';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { describeBlobStoreContract } from '../../ports/blob-store.contract.js';
import { InvalidBlobKeyError } from '../../ports/blob-key.js';
import { createStorageClient, GcsBlobStore, MAX_SIGNED_URL_SECONDS } from './gcs-blob-store.js';
import { writeThrowawayServiceAccountKey } from '../../../test/support/emulators/service-account-key.js';

const emulatorUrl = inject('storageEmulatorHost');
let keyDir: string;
let signingKeyFile: string;
let publicKey: string;
let clientEmail: string;
let storage: Storage;

beforeAll(async () => {
  keyDir = await mkdtemp(join(tmpdir(), 'gcs-blob-store-'));
  // The storage emulator checks no signature, so a throwaway key signs the URLs; the test
  // that verifies signatures does so itself, with the public half.
  ({ path: signingKeyFile, publicKey, clientEmail } = writeThrowawayServiceAccountKey(keyDir, 'omtx-test'));
  // The client is built the way production builds it; the SDK reads this variable itself.
  vi.stubEnv('STORAGE_EMULATOR_HOST', emulatorUrl);
  storage = createStorageClient({ projectId: 'omtx-test', signingKeyFile });
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await rm(keyDir, { recursive: true, force: true });
});

/** A store on a bucket of its own (the emulator creates buckets on first use). */
function freshStore(options?: ConstructorParameters<typeof GcsBlobStore>[2]) {
  const bucketName = `omtx-test-${randomUUID().slice(0, 8)}`;
  const store = new GcsBlobStore(storage, bucketName, options);
  // The emulator keeps objects on disk until it stops; the 5 MiB bodies add up.
  const close = () => storage.bucket(bucketName).deleteFiles({ force: true });
  return { store, bucketName, close };
}

describeBlobStoreContract('GcsBlobStore', async () => {
  const { store, close } = freshStore();
  return {
    store,
    fetchSigned: (url) => {
      // With STORAGE_EMULATOR_HOST set the SDK signs for the emulator's origin itself.
      expect(url.startsWith(`${emulatorUrl}/`)).toBe(true);
      return fetch(url);
    },
    close,
  };
});

describe('GcsBlobStore', () => {
  let gcs: ReturnType<typeof freshStore>;
  beforeEach(() => {
    gcs = freshStore();
  });
  afterEach(async () => {
    await gcs.close();
  });

  it('stores each content type as the object metadata Cloud Storage serves', async () => {
    const types: Record<string, string> = {
      'batches/b1/jobs/j1/structure.cif': 'chemical/x-cif',
      'batches/b1/jobs/j1/pose.pdbqt': 'chemical/x-pdbqt',
      'batches/b1/batch_results.csv': 'text/csv; charset=utf-8',
      'jobs/j1/logs.txt': 'text/plain',
    };
    for (const [key, contentType] of Object.entries(types)) await gcs.store.put(key, 'x', contentType);
    for (const [key, contentType] of Object.entries(types)) {
      // Read through the JSON API directly, not the adapter.
      const res = await fetch(`${emulatorUrl}/storage/v1/b/${gcs.bucketName}/o/${encodeURIComponent(key)}`);
      expect(((await res.json()) as { contentType: string }).contentType).toBe(contentType);
      expect((await gcs.store.stat(key))?.contentType).toBe(contentType);
      const signed = await fetch(await gcs.store.signedUrl(key, new Date(Date.now() + 60_000)));
      expect(signed.headers.get('content-type')).toBe(contentType);
    }
  });

  it('puts the expiry in the URL: X-Goog-Date plus X-Goog-Expires is the asked expiry, rounded up to the second', async () => {
    await gcs.store.put('jobs/j1/results.json', '{}', 'application/json');
    for (const lifetimeMs of [10_500, 3_600_000, 6 * 86_400_000 + 500]) {
      const expiresAt = new Date(Date.now() + lifetimeMs);
      const url = new URL(await gcs.store.signedUrl('jobs/j1/results.json', expiresAt));
      const date = url.searchParams.get('X-Goog-Date')!;
      const signedAt = Date.UTC(
        +date.slice(0, 4),
        +date.slice(4, 6) - 1,
        +date.slice(6, 8),
        +date.slice(9, 11),
        +date.slice(11, 13),
        +date.slice(13, 15),
      );
      const expires = Number(url.searchParams.get('X-Goog-Expires'));
      expect(Number.isInteger(expires)).toBe(true);
      expect(expires).toBeLessThanOrEqual(MAX_SIGNED_URL_SECONDS);
      expect(signedAt / 1000 + expires).toBe(Math.ceil(expiresAt.getTime() / 1000));
    }
  });

  it('refuses an expiry in the past or beyond the seven days V4 allows, and gives back only rounding at exactly seven days', async () => {
    await expect(gcs.store.signedUrl('jobs/j1/a.json', new Date(Date.now() - 1000))).rejects.toThrow(/not in the future/);
    await expect(gcs.store.signedUrl('jobs/j1/a.json', new Date(Date.now() + 8 * 86_400_000))).rejects.toThrow(
      /at most 604800 s \(7 days\), asked for 691200 s/,
    );
    const url = new URL(await gcs.store.signedUrl('jobs/j1/a.json', new Date(Date.now() + MAX_SIGNED_URL_SECONDS * 1000)));
    expect(url.searchParams.get('X-Goog-Expires')).toBe(String(MAX_SIGNED_URL_SECONDS));
  });

  for (const [mode, options] of [
    ['one multipart request', undefined],
    ['a resumable session', { resumableThresholdBytes: 1024 * 1024 }],
  ] as const) {
    it(`round-trips a 5 MiB body byte for byte, uploaded in ${mode}`, async () => {
      const { store, close } = freshStore(options);
      try {
        const body = randomBytes(5 * 1024 * 1024);
        expect(await store.put('batches/b1/batch_results.csv', body, 'text/csv')).toEqual({
          key: 'batches/b1/batch_results.csv',
          contentType: 'text/csv',
          sizeBytes: body.length,
        });
        const got = await store.get('batches/b1/batch_results.csv');
        expect(got?.body.equals(body)).toBe(true);
        const signed = await fetch(await store.signedUrl('batches/b1/batch_results.csv', new Date(Date.now() + 60_000)));
        expect(Buffer.from(await signed.arrayBuffer()).equals(body)).toBe(true);
      } finally {
        await close();
      }
    });
  }

  it('rejects keys that could escape the layout, for every operation', async () => {
    const soon = new Date(Date.now() + 60_000);
    for (const key of ['../secret', 'jobs/../../secret', '/jobs/j1/a.json', 'jobs//a.json', 'jobs/a\nb', '']) {
      await expect(gcs.store.put(key, 'x', 'text/plain')).rejects.toBeInstanceOf(InvalidBlobKeyError);
      await expect(gcs.store.get(key)).rejects.toBeInstanceOf(InvalidBlobKeyError);
      await expect(gcs.store.stat(key)).rejects.toBeInstanceOf(InvalidBlobKeyError);
      await expect(gcs.store.delete(key)).rejects.toBeInstanceOf(InvalidBlobKeyError);
      await expect(gcs.store.signedUrl(key, soon)).rejects.toBeInstanceOf(InvalidBlobKeyError);
    }
  });
});

describe('GcsBlobStore signing for production', () => {
  it('signs a V4 URL for storage.googleapis.com with the key file that verifies against its public key', async () => {
    // No emulator: the URL production hands out. Signing with a key file is local, so no
    // request leaves the machine; the emulator would accept any signature, so check it here
    // by rebuilding Google's V4 string-to-sign.
    vi.stubEnv('STORAGE_EMULATOR_HOST', undefined);
    const production = new GcsBlobStore(createStorageClient({ projectId: 'omtx-test', signingKeyFile }), 'omtx-artifacts');
    vi.stubEnv('STORAGE_EMULATOR_HOST', emulatorUrl);
    const url = new URL(await production.signedUrl('batches/b1/jobs/j1/structure.cif', new Date(Date.now() + 3_600_000)));
    expect(`${url.origin}${url.pathname}`).toBe('https://storage.googleapis.com/omtx-artifacts/batches/b1/jobs/j1/structure.cif');
    const params = [...url.searchParams].filter(([name]) => name !== 'X-Goog-Signature').sort(([a], [b]) => (a < b ? -1 : 1));
    expect(params.find(([name]) => name === 'X-Goog-Credential')?.[1]).toMatch(
      new RegExp(`^${clientEmail}/\\d{8}/auto/storage/goog4_request$`),
    );
    const canonicalRequest = [
      'GET',
      url.pathname,
      params.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&'),
      'host:storage.googleapis.com\n',
      'host',
      'UNSIGNED-PAYLOAD',
    ].join('\n');
    const date = url.searchParams.get('X-Goog-Date')!;
    const stringToSign = [
      'GOOG4-RSA-SHA256',
      date,
      `${date.slice(0, 8)}/auto/storage/goog4_request`,
      createHash('sha256').update(canonicalRequest).digest('hex'),
    ].join('\n');
    const signature = Buffer.from(url.searchParams.get('X-Goog-Signature')!, 'hex');
    expect(createVerify('RSA-SHA256').update(stringToSign).verify(publicKey, signature)).toBe(true);
  });
});
