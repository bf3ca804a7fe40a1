import type { IncomingHttpHeaders } from 'node:http';
import { buffer } from 'node:stream/consumers';
import { IdempotencyStrategy, Storage, type Bucket } from '@google-cloud/storage';
import type { BlobInfo, BlobStore } from '../../ports/blob-store.js';
import { assertValidBlobKey, assertValidContentType } from '../../ports/blob-key.js';
import type { GcpConfig } from './gcp-config.js';

/** V4 signed URLs live at most seven days (Cloud Storage refuses longer ones). */
export const MAX_SIGNED_URL_SECONDS = 7 * 24 * 3600;

/** What GCS serves for an object stored without a content type, as the fs store does. */
const OPAQUE = 'application/octet-stream';

/** Tuning of a {@link GcsBlobStore}. */
export interface GcsBlobStoreOptions {
  /**
   * Bodies larger than this go up in a resumable session, smaller ones in one multipart
   * request. The body is already in memory, so a resumable session only pays off when a
   * failed transfer would be costly to resend whole: its extra round trip (creating the
   * session) dominates for the small JSON, CIF and log artifacts, and the SDK itself
   * advises turning it off below 10 MB. 8 MiB is Google's recommended minimum chunk size.
   * @default 8_388_608 // bytes (8 MiB)
   */
  resumableThresholdBytes?: number;
}

/**
 * Builds the Cloud Storage client from the shared settings.
 *
 * Credentials: with `OMTX_GCS_SIGNING_KEY_FILE` the service-account key in that file is the
 * client's identity for every call and signs V4 URLs locally. Without it the client uses
 * Application Default Credentials (the Cloud Run service account), which hold no private
 * key: the SDK then signs each URL through the IAM Credentials `signBlob` API, as that
 * service account, which needs `roles/iam.serviceAccountTokenCreator` on itself. No key
 * exists anywhere, at the cost of one API call per URL.
 *
 * The SDK points itself at `STORAGE_EMULATOR_HOST` when that is set (and then sends no
 * tokens).
 *
 * Retries: by default the SDK retries an upload or delete only under a generation
 * precondition. Every write here replaces the whole object with bytes the caller still
 * holds, and deleting a missing object is not an error, so both are safe to repeat:
 * transient 429/5xx answers are retried rather than failing a job.
 */
export function createStorageClient(config: Pick<GcpConfig, 'projectId' | 'signingKeyFile'>): Storage {
  return new Storage({
    projectId: config.projectId,
    ...(config.signingKeyFile === null ? {} : { keyFilename: config.signingKeyFile }),
    retryOptions: { idempotencyStrategy: IdempotencyStrategy.RetryAlways },
  });
}

/** The SDK's ApiError (and the read stream's errors) carry the HTTP status as `code`. */
function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 404;
}

/**
 * BlobStore on one Cloud Storage bucket; a key is an object name (DESIGN.md's layout:
 * `jobs/{id}/…`, `batches/{batchId}/jobs/{id}/…`, `batches/{batchId}/…`). Objects are
 * replaced atomically by Cloud Storage, so a reader sees the old or the new bytes, never
 * part of either. Keys are checked like the fs store's, so a key valid for one adapter is
 * valid for both.
 *
 * What the storage emulator the tests run against cannot show about production: it checks
 * no signature (a wrong key, an altered or expired V4 URL are still served), no IAM, no
 * security rules; `signBlob` signing without a key file is never exercised; its objects
 * live on one local disk, so throughput, latency, the ~1 write/s limit on one object name
 * and rate limiting (429) are not those of Cloud Storage.
 */
export class GcsBlobStore implements BlobStore {
  private readonly bucket: Bucket;
  private readonly resumableThresholdBytes: number;

  constructor(storage: Storage, bucketName: string, options: GcsBlobStoreOptions = {}) {
    this.bucket = storage.bucket(bucketName);
    this.resumableThresholdBytes = options.resumableThresholdBytes ?? 8 * 1024 * 1024;
  }

  async put(key: string, body: Uint8Array | string, contentType: string): Promise<BlobInfo> {
    assertValidBlobKey(key);
    assertValidContentType(key, contentType);
    const bytes =
      typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    await this.bucket.file(key).save(bytes, { contentType, resumable: bytes.byteLength > this.resumableThresholdBytes });
    return { key, contentType, sizeBytes: bytes.byteLength };
  }

  async get(key: string): Promise<{ body: Buffer; info: BlobInfo } | null> {
    assertValidBlobKey(key);
    // One media request: its Content-Type header is the stored content type of exactly the
    // generation whose bytes arrive, so an overwrite between two requests cannot pair the
    // new type with the old bytes.
    const stream = this.bucket.file(key).createReadStream();
    let contentType = OPAQUE;
    stream.once('response', (response: { headers: IncomingHttpHeaders }) => {
      contentType = response.headers['content-type'] || OPAQUE;
    });
    try {
      const body = await buffer(stream);
      return { body, info: { key, contentType, sizeBytes: body.length } };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async stat(key: string): Promise<BlobInfo | null> {
    assertValidBlobKey(key);
    try {
      const [metadata] = await this.bucket.file(key).getMetadata();
      return { key, contentType: metadata.contentType || OPAQUE, sizeBytes: Number(metadata.size ?? 0) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertValidBlobKey(key);
    await this.bucket.file(key).delete({ ignoreNotFound: true });
  }

  /**
   * A V4 signed GET URL valid until `expiresAt`, rounded up to the second as the fs store
   * does. V4 URLs live at most seven days, so a later expiry is refused rather than
   * silently shortened (OMTX_SIGNED_URL_TTL_SECONDS is capped at seven days); at exactly
   * seven days the rounding gives back the fraction of a second that would exceed it.
   */
  async signedUrl(key: string, expiresAt: Date): Promise<string> {
    assertValidBlobKey(key);
    const now = Date.now();
    const lifetimeMs = expiresAt.getTime() - now;
    if (!(lifetimeMs > 0)) {
      throw new RangeError(`signed URL for blob ${key}: the expiry ${String(expiresAt)} is not in the future`);
    }
    if (lifetimeMs > MAX_SIGNED_URL_SECONDS * 1000) {
      throw new RangeError(
        `signed URL for blob ${key}: V4 signed URLs live at most ${MAX_SIGNED_URL_SECONDS} s (7 days), ` +
          `asked for ${Math.ceil(lifetimeMs / 1000)} s (until ${expiresAt.toISOString()})`,
      );
    }
    // The SDK counts the lifetime from the signing second (X-Goog-Date), so fix that second here.
    const signedAtSeconds = Math.floor(now / 1000);
    const expiresSeconds = Math.min(Math.ceil(expiresAt.getTime() / 1000), signedAtSeconds + MAX_SIGNED_URL_SECONDS);
    const [url] = await this.bucket.file(key).getSignedUrl({
      version: 'v4',
      action: 'read',
      accessibleAt: signedAtSeconds * 1000,
      expires: expiresSeconds * 1000,
    });
    return url;
  }
}
