import { createHash } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import { bulk } from './bulk.js';

/**
 * Large texts (a protein's PDB/CIF structure, up to 16 MiB, or an uploaded MSA) kept out of
 * the job document, which Firestore caps at 1 MiB: content-addressed chunks in `payloads`,
 * `payloads/{sha256}-{part}` = { bytes: Bytes ≤ 900 KiB }. They are written before the
 * transaction that stores the job (a refused submission leaves only unreferenced chunks, which
 * a re-submission reuses), and never change, so reads go through a small in-process cache.
 */
export const PAYLOADS = 'payloads';

/** Texts at most this long stay in the document. @default 64 KiB // bytes of UTF-8 */
export const INLINE_TEXT_BYTES = 64 * 1024;
/** One chunk's bytes: below the 1 MiB document limit with room for the name and overhead. */
export const PAYLOAD_CHUNK_BYTES = 900 * 1024;

export interface PayloadRef {
  sha256: string;
  parts: number;
  bytes: number;
}

export class PayloadStore {
  private readonly cache = new Map<string, string>();
  private cachedBytes = 0;

  /** @param cacheBytes how much text the cache keeps (least recently used goes first). */
  constructor(
    private readonly db: Firestore,
    private readonly cacheBytes = 64 * 1024 * 1024,
  ) {}

  /** The text inline when small; otherwise its chunks are written (once per content) and referenced. */
  async store(text: string): Promise<{ content: string } | { payload: PayloadRef }> {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length <= INLINE_TEXT_BYTES) return { content: text };
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const parts = Math.ceil(bytes.length / PAYLOAD_CHUNK_BYTES);
    // Same id, same bytes: writing a chunk again (another submission of this protein) changes nothing.
    await bulk(this.db, (writer) =>
      Array.from({ length: parts }, (_, part) =>
        writer.set(this.db.collection(PAYLOADS).doc(`${sha256}-${part}`), {
          bytes: bytes.subarray(part * PAYLOAD_CHUNK_BYTES, (part + 1) * PAYLOAD_CHUNK_BYTES),
        }),
      ),
    );
    this.remember(sha256, text);
    return { payload: { sha256, parts, bytes: bytes.length } };
  }

  /** Loads the payloads of `refs` not cached yet, so `text` can answer synchronously. */
  async load(refs: PayloadRef[]): Promise<void> {
    const missing = refs.filter((r, i) => !this.cache.has(r.sha256) && refs.findIndex((o) => o.sha256 === r.sha256) === i);
    await Promise.all(
      missing.map(async (ref) => {
        const docs = Array.from({ length: ref.parts }, (_, part) => this.db.collection(PAYLOADS).doc(`${ref.sha256}-${part}`));
        const snapshots = await this.db.getAll(...docs);
        const chunks = snapshots.map((s) => {
          const data = s.data() as { bytes?: Uint8Array } | undefined;
          if (!data?.bytes) throw new Error(`payload ${s.ref.path} is missing: a job refers to text it does not hold`);
          return Buffer.from(data.bytes);
        });
        const text = Buffer.concat(chunks).toString('utf8');
        const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
        if (sha256 !== ref.sha256) throw new Error(`payload ${ref.sha256} does not match its content (sha256 ${sha256})`);
        this.remember(ref.sha256, text);
      }),
    );
  }

  /** A loaded (or just stored) text. */
  text(field: { content?: string; payload?: PayloadRef }): string {
    if (field.content !== undefined) return field.content;
    if (!field.payload) throw new Error('a stored text has neither content nor payload');
    const text = this.cache.get(field.payload.sha256);
    if (text === undefined) throw new Error(`payload ${field.payload.sha256} was not loaded`);
    // Most recently used last.
    this.cache.delete(field.payload.sha256);
    this.cache.set(field.payload.sha256, text);
    return text;
  }

  private remember(sha256: string, text: string): void {
    if (this.cache.has(sha256)) return;
    this.cache.set(sha256, text);
    this.cachedBytes += text.length;
    for (const [key, value] of this.cache) {
      if (this.cachedBytes <= this.cacheBytes || key === sha256) break;
      this.cache.delete(key);
      this.cachedBytes -= value.length;
    }
  }
}
