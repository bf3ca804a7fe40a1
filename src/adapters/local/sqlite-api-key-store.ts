import type { ApiKeyRecord, ApiKeyStore } from '../../ports/api-key-store.js';
import type { SqliteDatabase } from './sqlite/database.js';

const DDL = `
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  prefix TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL,
  organization_id TEXT,
  name TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS api_keys_by_user ON api_keys (user_id, created_at, id);
`;

interface ApiKeyRow {
  id: string;
  prefix: string;
  user_id: string;
  organization_id: string | null;
  name: string;
  secret_hash: string;
  created_at: number;
  revoked_at: number | null;
}

function fromRow(r: ApiKeyRow): ApiKeyRecord {
  return {
    id: r.id,
    prefix: r.prefix,
    userId: r.user_id,
    organizationId: r.organization_id,
    name: r.name,
    secretHash: r.secret_hash,
    createdAt: new Date(r.created_at),
    revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at),
  };
}

/** API keys in the embedded SQLite file, beside the jobs (the CLI and the api share it). */
export class SqliteApiKeyStore implements ApiKeyStore {
  constructor(private readonly db: SqliteDatabase) {
    db.exec(DDL);
  }

  async create(key: ApiKeyRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO api_keys (id, prefix, user_id, organization_id, name, secret_hash, created_at, revoked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        key.id,
        key.prefix,
        key.userId,
        key.organizationId,
        key.name,
        key.secretHash,
        key.createdAt.getTime(),
        key.revokedAt?.getTime() ?? null,
      );
  }

  async findByPrefix(prefix: string): Promise<ApiKeyRecord | null> {
    const row = this.db.prepare<[string], ApiKeyRow>('SELECT * FROM api_keys WHERE prefix = ?').get(prefix);
    return row ? fromRow(row) : null;
  }

  async get(id: string): Promise<ApiKeyRecord | null> {
    const row = this.db.prepare<[string], ApiKeyRow>('SELECT * FROM api_keys WHERE id = ?').get(id);
    return row ? fromRow(row) : null;
  }

  async listForUser(userId: string, includeRevoked: boolean): Promise<ApiKeyRecord[]> {
    const rows = this.db
      .prepare<[string], ApiKeyRow>(
        `SELECT * FROM api_keys WHERE user_id = ? ${includeRevoked ? '' : 'AND revoked_at IS NULL'}
         ORDER BY created_at DESC, id DESC`,
      )
      .all(userId);
    return rows.map(fromRow);
  }

  async revoke(userId: string, id: string, now: Date): Promise<ApiKeyRecord | null> {
    return this.db
      .transaction(() => {
        this.db
          .prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL')
          .run(now.getTime(), id, userId);
        const row = this.db
          .prepare<[string, string], ApiKeyRow>('SELECT * FROM api_keys WHERE id = ? AND user_id = ?')
          .get(id, userId);
        return row ? fromRow(row) : null;
      })
      .immediate();
  }

  async inactive(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const active = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = this.db
        .prepare(`SELECT id FROM api_keys WHERE revoked_at IS NULL AND id IN (${chunk.map(() => '?').join(', ')})`)
        .all(...chunk) as { id: string }[];
      for (const r of rows) active.add(r.id);
    }
    return ids.filter((id) => !active.has(id));
  }
}
