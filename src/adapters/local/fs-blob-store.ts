import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BlobInfo, BlobStore } from '../../ports/blob-store.js';
import { assertValidBlobKey, assertValidContentType, isValidContentType } from '../../ports/blob-key.js';

/** Where and how an {@link FsBlobStore} keeps blobs and signs their URLs. */
export interface FsBlobStoreOptions {
  /** Directory owned by the store, e.g. `${dataDir}/blobs`; created on first write. */
  rootDir: string;
  /** Origin (and path prefix) the API is reached at, e.g. `https://hub.example.org`. */
  publicBaseUrl: string;
  /** HMAC key for signed URLs, at least 32 bytes; keep it stable across restarts or old links break. */
  secret: string | Uint8Array;
}

/** Outcome of checking a signed artifact request. */
export type SignedRequestCheck = 'valid' | 'invalid' | 'expired';

/** An open blob: its metadata and a stream of exactly `info.sizeBytes` bytes. */
export interface BlobReadHandle {
  info: BlobInfo;
  stream: ReadStream;
}

/** `key` percent-encoded segment by segment, so slashes stay path separators. */
export function encodeBlobKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** Stored next to the bytes; the size always comes from the file itself. */
interface BlobMeta {
  contentType: string;
}

/**
 * BlobStore on the local filesystem, for the embedded deployment. Layout under
 * `rootDir`: `objects/<key>` holds the bytes (so an operator can browse them),
 * `meta/<key>.json` the content type, `tmp/` writes in progress. Separate trees
 * mean no key is reserved for metadata.
 *
 * Writes go to `tmp/` and are renamed into place, so a reader sees the old bytes
 * or the new bytes, never part of either. The metadata is renamed before the
 * bytes, so a new key never appears without its content type; during an
 * overwrite that also changes the content type a reader may briefly see the old
 * bytes with the new type (artifact keys keep one type in practice). `tmp/` may
 * be emptied whenever the API is stopped.
 *
 * Signed URLs point at the API (`/artifacts/<key>`), which serves them with
 * `serveArtifact` after {@link FsBlobStore.verifySignedRequest}.
 */
export class FsBlobStore implements BlobStore {
  private readonly rootDir: string;
  private publicBaseUrl: string;
  private readonly secret: Buffer;

  constructor(options: FsBlobStoreOptions) {
    this.rootDir = options.rootDir;
    this.publicBaseUrl = options.publicBaseUrl.replace(/\/+$/, '');
    this.secret = typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : Buffer.from(options.secret);
    if (this.secret.length < 32) {
      throw new Error(`FsBlobStore: the signing secret must be at least 32 bytes, got ${this.secret.length}`);
    }
  }

  /** The api learns its own address only once it listens (port 0 in tests). */
  setPublicBaseUrl(url: string): void {
    this.publicBaseUrl = url.replace(/\/+$/, '');
  }

  private objectPath(key: string): string {
    assertValidBlobKey(key);
    return join(this.rootDir, 'objects', ...key.split('/'));
  }

  private metaPath(key: string): string {
    return join(this.rootDir, 'meta', ...key.split('/')) + '.json';
  }

  async put(key: string, body: Uint8Array | string, contentType: string): Promise<BlobInfo> {
    const objectPath = this.objectPath(key);
    assertValidContentType(key, contentType);
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const meta: BlobMeta = { contentType };
    const tmpDir = join(this.rootDir, 'tmp');
    const tmpId = `${process.pid}-${randomBytes(8).toString('hex')}`;
    const tmpObject = join(tmpDir, `${tmpId}.object`);
    const tmpMeta = join(tmpDir, `${tmpId}.meta`);
    const metaPath = this.metaPath(key);
    await Promise.all([
      mkdir(tmpDir, { recursive: true }),
      mkdir(dirname(objectPath), { recursive: true }),
      mkdir(dirname(metaPath), { recursive: true }),
    ]);
    try {
      await Promise.all([writeFile(tmpObject, bytes), writeFile(tmpMeta, JSON.stringify(meta))]);
      // Metadata first: a new key never appears without its content type.
      await rename(tmpMeta, metaPath);
      await rename(tmpObject, objectPath);
    } catch (err) {
      await Promise.all([rm(tmpObject, { force: true }), rm(tmpMeta, { force: true })]);
      throw err;
    }
    return { key, contentType, sizeBytes: bytes.byteLength };
  }

  async get(key: string): Promise<{ body: Buffer; info: BlobInfo } | null> {
    const handle = await this.openFile(key);
    if (!handle) return null;
    try {
      const body = await handle.file.readFile();
      return { body, info: { ...handle.info, sizeBytes: body.length } };
    } finally {
      await handle.file.close();
    }
  }

  async stat(key: string): Promise<BlobInfo | null> {
    const handle = await this.openFile(key);
    if (!handle) return null;
    await handle.file.close();
    return handle.info;
  }

  /**
   * Opens `key` for streaming, or null when it is missing. The size is taken
   * from the open file, so it matches the streamed bytes even if the blob is
   * overwritten meanwhile (the rename leaves this file intact).
   */
  async open(key: string): Promise<BlobReadHandle | null> {
    const handle = await this.openFile(key);
    if (!handle) return null;
    return { info: handle.info, stream: createReadStream('', { fd: handle.file, autoClose: true }) };
  }

  private async openFile(key: string) {
    const objectPath = this.objectPath(key);
    let file;
    try {
      file = await open(objectPath, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOTDIR: a prefix of the key is itself a blob ("a" exists, "a/b" asked).
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
      throw err;
    }
    try {
      const stats = await file.stat();
      if (!stats.isFile()) {
        await file.close();
        return null;
      }
      const info: BlobInfo = { key, contentType: await this.readContentType(key), sizeBytes: stats.size };
      return { file, info };
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  private async readContentType(key: string): Promise<string> {
    try {
      const meta = JSON.parse(await readFile(this.metaPath(key), 'utf8')) as Partial<BlobMeta>;
      if (typeof meta.contentType === 'string' && isValidContentType(meta.contentType)) return meta.contentType;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // Bytes copied in by hand have no metadata; serve them as opaque.
    return 'application/octet-stream';
  }

  async delete(key: string): Promise<void> {
    const objectPath = this.objectPath(key);
    for (const path of [objectPath, this.metaPath(key)]) {
      try {
        await unlink(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      }
    }
    // Empty directories are left behind on purpose: removing them would race
    // with a concurrent put that has just created them.
  }

  async signedUrl(key: string, expiresAt: Date): Promise<string> {
    assertValidBlobKey(key);
    // Round up so the link is valid at least until `expiresAt`.
    const expires = Math.ceil(expiresAt.getTime() / 1000);
    const signature = this.sign(key, expires);
    return `${this.publicBaseUrl}/artifacts/${encodeBlobKeyPath(key)}?expires=${expires}&signature=${signature}`;
  }

  /**
   * Checks the `expires` and `signature` query parameters of a signed URL for
   * `key`. The signature is checked first, so an altered `expires` is `invalid`,
   * and only a link this store issued can ever be reported `expired`.
   */
  verifySignedRequest(
    key: string,
    expires: string | null | undefined,
    signature: string | null | undefined,
    now: Date = new Date(),
  ): SignedRequestCheck {
    if (!expires || !/^\d{1,12}$/.test(expires) || !signature || !/^[0-9a-f]{64}$/.test(signature)) return 'invalid';
    try {
      assertValidBlobKey(key);
    } catch {
      return 'invalid';
    }
    const expected = Buffer.from(this.sign(key, Number(expires)), 'hex');
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return 'invalid';
    // Valid through the whole second named by `expires`.
    return Math.floor(now.getTime() / 1000) > Number(expires) ? 'expired' : 'valid';
  }

  private sign(key: string, expires: number): string {
    // The newline separates key from expiry (keys cannot contain one), so
    // ("a/1", 23) and ("a/12", 3) sign differently.
    return createHmac('sha256', this.secret).update(`${key}\n${expires}`).digest('hex');
  }
}
