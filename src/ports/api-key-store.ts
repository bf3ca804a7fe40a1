/** An API key as stored: never its secret, only a slow hash of it. */
export interface ApiKeyRecord {
  id: string;
  /** Public part of the key (`omtx_<prefix>_<secret>`), unique: finds the record without scanning. */
  prefix: string;
  /** The user the key acts for. */
  userId: string;
  organizationId: string | null;
  name: string;
  /** `scrypt$N$r$p$salt$hash` (hex): see `src/auth/api-key-secret.ts`. */
  secretHash: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/**
 * API keys. Revocation is permanent: a revoked key is kept (for the audit trail and its
 * listing) and never verifies again.
 */
export interface ApiKeyStore {
  /** Stores a new key; a prefix already taken is an Error (the caller draws another). */
  create(key: ApiKeyRecord): Promise<void>;
  findByPrefix(prefix: string): Promise<ApiKeyRecord | null>;
  get(id: string): Promise<ApiKeyRecord | null>;
  /** A user's keys, newest first; revoked ones too when asked. */
  listForUser(userId: string, includeRevoked: boolean): Promise<ApiKeyRecord[]>;
  /**
   * Marks the user's key revoked at `now` and returns it; null when no key of theirs has this
   * id. Revoking an already revoked key keeps its first `revokedAt`.
   */
  revoke(userId: string, id: string, now: Date): Promise<ApiKeyRecord | null>;
  /** Of `ids`, those revoked or gone (a sweep over live sockets' keys). */
  inactive(ids: readonly string[]): Promise<string[]>;
}
