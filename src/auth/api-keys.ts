import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ApiKeyRecord, ApiKeyStore } from '../ports/api-key-store.js';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import { hashApiKeySecret, newApiKeyText, parseApiKey, verifyApiKeySecret } from './api-key-secret.js';

/** Who acts when a key is created or revoked, for the audit log. */
export interface Actor {
  id: string;
  credential: string;
  apiKeyId: string | null;
}

export interface CreatedApiKey {
  key: ApiKeyRecord;
  /** The whole key text, `omtx_<prefix>_<secret>`: returned once, never stored. */
  secret: string;
}

interface CacheEntry {
  /** The verified key, or null for text that failed verification. */
  key: ApiKeyRecord | null;
  until: number;
}

/** How long text that failed verification is refused without scrypt again. @default 60_000 // 60 seconds */
const FAILURE_TTL_MS = 60_000;
/** Entries of each cache (verified, failed); the oldest goes first. @default 10_000 */
const CACHE_ENTRIES = 10_000;

/**
 * API keys: created with the secret shown once, verified with scrypt (then trusted from
 * memory for `cacheSeconds`), revoked for good. Revocation drops the key from this process's
 * cache at once and tells `onRevoked` listeners (the WebSocket server closes its sockets).
 * Creation and revocation write an audit entry (`audit: true`, never the secret).
 *
 * scrypt is deliberately slow (~50 ms of a core), so a client must not be able to make us run
 * it at will: text that failed is remembered for a minute, and concurrent verifications of the
 * same text share one scrypt. Only a new guess of a known prefix's secret costs one.
 */
export class ApiKeys {
  /** Verified keys and failed texts, keyed by a SHA-256 of the text (the secret itself is not kept). */
  private readonly verified = new Map<string, CacheEntry>();
  private readonly failed = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<ApiKeyRecord | null>>();
  /**
   * Ids revoked in this process. A verification that read the record before a revocation
   * finishes after it: checked before caching and on every cache hit, it cannot outlive it.
   */
  private readonly revoked = new Set<string>();
  private readonly listeners = new Set<(keyId: string) => void>();
  private scryptRuns = 0;

  constructor(
    private readonly store: ApiKeyStore,
    private readonly audit: Logger,
    private readonly options: { cacheSeconds: number; clock: () => Date },
  ) {}

  async create(actor: Actor, owner: { userId: string; organizationId: string | null }, name: string): Promise<CreatedApiKey> {
    const trimmed = name.trim();
    if (trimmed.length < 1 || trimmed.length > 100) {
      throw new InvalidInputError([{ path: ['name'], message: `must be 1 to 100 characters, got ${trimmed.length}` }]);
    }
    const { text, prefix, secret } = newApiKeyText();
    const key: ApiKeyRecord = {
      id: randomUUID(),
      prefix,
      userId: owner.userId,
      organizationId: owner.organizationId,
      name: trimmed,
      secretHash: await hashApiKeySecret(secret),
      createdAt: this.options.clock(),
      revokedAt: null,
    };
    await this.store.create(key);
    this.audit.info(
      {
        audit: true,
        event: 'apiKey.created',
        actor,
        keyId: key.id,
        keyPrefix: prefix,
        userId: key.userId,
        organizationId: key.organizationId,
        at: key.createdAt.toISOString(),
      },
      'api key created',
    );
    return { key, secret: text };
  }

  list(userId: string, includeRevoked: boolean): Promise<ApiKeyRecord[]> {
    return this.store.listForUser(userId, includeRevoked);
  }

  /** Revokes one of the user's keys; another user's (or an unknown) id is NOT_FOUND. */
  async revoke(actor: Actor, userId: string, id: string): Promise<ApiKeyRecord> {
    const before = await this.store.get(id);
    const key = await this.store.revoke(userId, id, this.options.clock());
    if (!key) throw new NotFoundError('ApiKey', id);
    this.revoked.add(id);
    for (const [hash, entry] of this.verified) if (entry.key?.id === id) this.verified.delete(hash);
    if (before?.revokedAt === null) {
      this.audit.info(
        {
          audit: true,
          event: 'apiKey.revoked',
          actor,
          keyId: key.id,
          keyPrefix: key.prefix,
          userId: key.userId,
          organizationId: key.organizationId,
          at: key.revokedAt!.toISOString(),
        },
        'api key revoked',
      );
    }
    for (const listener of this.listeners) listener(id);
    return key;
  }

  /** The key's record when `text` is a live key, else null (malformed, unknown, wrong secret, revoked). */
  async verify(text: string): Promise<ApiKeyRecord | null> {
    const digest = createHash('sha256').update(text).digest('hex');
    const now = Date.now();
    const failed = lookup(this.failed, digest, now);
    if (failed) return null;
    const cached = lookup(this.verified, digest, now);
    if (cached) return this.live(cached.key);
    let pending = this.inFlight.get(digest);
    if (!pending) {
      pending = this.verifyUncached(text, digest).finally(() => this.inFlight.delete(digest));
      this.inFlight.set(digest, pending);
    }
    // Joined before a revocation and answered after it: still refused.
    return this.live(await pending);
  }

  /** How many scrypt verifications this process ran (a cache or a shared verification runs none). */
  stats(): { scryptRuns: number } {
    return { scryptRuns: this.scryptRuns };
  }

  private async verifyUncached(text: string, digest: string): Promise<ApiKeyRecord | null> {
    const parsed = parseApiKey(text);
    if (!parsed) return null;
    const key = await this.store.findByPrefix(parsed.prefix);
    // An unknown prefix costs no scrypt; a known one does once per text, matched or not.
    if (!key) return null;
    this.scryptRuns++;
    const matches = await verifyApiKeySecret(parsed.secret, key.secretHash);
    const done = Date.now();
    if (!matches || key.revokedAt !== null) {
      remember(this.failed, digest, { key: null, until: done + FAILURE_TTL_MS });
      return null;
    }
    // Revoked while scrypt ran: neither cached nor accepted.
    if (this.revoked.has(key.id)) return null;
    if (this.options.cacheSeconds > 0) {
      remember(this.verified, digest, { key, until: done + this.options.cacheSeconds * 1000 });
    }
    return key;
  }

  private live(key: ApiKeyRecord | null): ApiKeyRecord | null {
    return key && !this.revoked.has(key.id) ? key : null;
  }

  /** Of these key ids, the ones revoked meanwhile (possibly by another process). */
  inactive(ids: readonly string[]): Promise<string[]> {
    return this.store.inactive(ids);
  }

  /** Calls `listener` with the id of each key revoked in this process; returns the unsubscribe. */
  onRevoked(listener: (keyId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The entry for `digest` while it is fresh; a stale one is dropped. */
function lookup(cache: Map<string, CacheEntry>, digest: string, now: number): CacheEntry | undefined {
  const entry = cache.get(digest);
  if (entry && entry.until > now) return entry;
  if (entry) cache.delete(digest);
  return undefined;
}

/** Adds an entry, dropping the oldest beyond {@link CACHE_ENTRIES} (a Map iterates in insertion order). */
function remember(cache: Map<string, CacheEntry>, digest: string, entry: CacheEntry): void {
  cache.delete(digest);
  cache.set(digest, entry);
  if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
}
