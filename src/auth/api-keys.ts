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
  key: ApiKeyRecord;
  until: number;
}

/**
 * API keys: created with the secret shown once, verified with scrypt (then trusted from
 * memory for `cacheSeconds`), revoked for good. Revocation drops the key from this process's
 * cache at once and tells `onRevoked` listeners (the WebSocket server closes its sockets).
 * Creation and revocation write an audit entry (`audit: true`, never the secret).
 */
export class ApiKeys {
  /** Keyed by a SHA-256 of the key text, so the secret itself is not kept in memory. */
  private readonly cache = new Map<string, CacheEntry>();
  private readonly listeners = new Set<(keyId: string) => void>();

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
    for (const [hash, entry] of this.cache) if (entry.key.id === id) this.cache.delete(hash);
    if (before?.revokedAt === null) {
      this.audit.info(
        {
          audit: true,
          event: 'apiKey.revoked',
          actor,
          keyId: key.id,
          keyPrefix: key.prefix,
          userId: key.userId,
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
    const cached = this.cache.get(digest);
    if (cached && cached.until > now) return cached.key;
    this.cache.delete(digest);
    const parsed = parseApiKey(text);
    if (!parsed) return null;
    const key = await this.store.findByPrefix(parsed.prefix);
    // An unknown prefix costs no scrypt; a known one always does, matched or not.
    if (!key) return null;
    const matches = await verifyApiKeySecret(parsed.secret, key.secretHash);
    if (!matches || key.revokedAt !== null) return null;
    if (this.options.cacheSeconds > 0) {
      this.cache.set(digest, { key, until: now + this.options.cacheSeconds * 1000 });
      if (this.cache.size > 10_000) this.cache.delete(this.cache.keys().next().value!);
    }
    return key;
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
