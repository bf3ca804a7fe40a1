/**
 * Artifacts and exports. Keys follow DESIGN.md's layout (`jobs/{id}/…`,
 * `batches/{batchId}/jobs/{id}/…`, `batches/{batchId}/…`).
 */
export interface BlobInfo {
  key: string;
  contentType: string;
  sizeBytes: number;
}

export interface BlobStore {
  /** Stores bytes under `key`, replacing any previous value. */
  put(key: string, body: Uint8Array | string, contentType: string): Promise<BlobInfo>;
  /** Null when nothing is stored under `key`. */
  get(key: string): Promise<{ body: Buffer; info: BlobInfo } | null>;
  stat(key: string): Promise<BlobInfo | null>;
  /** A URL a client can GET until `expiresAt`. */
  signedUrl(key: string, expiresAt: Date): Promise<string>;
  delete(key: string): Promise<void>;
}
