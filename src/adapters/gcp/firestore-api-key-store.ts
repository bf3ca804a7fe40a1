import { Timestamp, type DocumentSnapshot, type Firestore } from '@google-cloud/firestore';
import type { ApiKeyRecord, ApiKeyStore } from '../../ports/api-key-store.js';

/** `api_keys/{id}`: one document per key, snake_case like the rest of the database. */
const API_KEYS = 'api_keys';
/** `api_key_prefixes/{prefix}` → `{ key_id }`: claims a prefix once and finds its key without a query. */
const API_KEY_PREFIXES = 'api_key_prefixes';
/** Keys read per `getAll` in `inactive`. @default 300 // documents */
const READ_CHUNK = 300;
/** gRPC ALREADY_EXISTS: a `create` met an existing document. */
const ALREADY_EXISTS = 6;

interface ApiKeyDoc {
  id: string;
  prefix: string;
  user_id: string;
  organization_id: string | null;
  name: string;
  secret_hash: string;
  created_at: Timestamp;
  revoked_at: Timestamp | null;
}

function toDoc(key: ApiKeyRecord): ApiKeyDoc {
  return {
    id: key.id,
    prefix: key.prefix,
    user_id: key.userId,
    organization_id: key.organizationId,
    name: key.name,
    secret_hash: key.secretHash,
    created_at: Timestamp.fromDate(key.createdAt),
    revoked_at: key.revokedAt === null ? null : Timestamp.fromDate(key.revokedAt),
  };
}

function fromDoc(d: ApiKeyDoc): ApiKeyRecord {
  return {
    id: d.id,
    prefix: d.prefix,
    userId: d.user_id,
    organizationId: d.organization_id,
    name: d.name,
    secretHash: d.secret_hash,
    createdAt: d.created_at.toDate(),
    revokedAt: d.revoked_at === null ? null : d.revoked_at.toDate(),
  };
}

function recordOf(snap: DocumentSnapshot): ApiKeyRecord | null {
  return snap.exists ? fromDoc(snap.data() as ApiKeyDoc) : null;
}

/**
 * API keys in Firestore. A key's prefix is claimed by creating `api_key_prefixes/{prefix}`
 * in the same atomic batch as the key, with `create` semantics, so two processes drawing the
 * same prefix at once cannot both store it: the second commit fails and stores nothing.
 */
export class FirestoreApiKeyStore implements ApiKeyStore {
  constructor(private readonly db: Firestore) {}

  async create(key: ApiKeyRecord): Promise<void> {
    const batch = this.db.batch();
    batch.create(this.db.collection(API_KEY_PREFIXES).doc(key.prefix), { key_id: key.id });
    batch.create(this.keyRef(key.id), toDoc(key));
    try {
      await batch.commit();
    } catch (error) {
      if ((error as { code?: unknown }).code !== ALREADY_EXISTS) throw error;
      throw new Error(`api key prefix ${key.prefix} (or key id ${key.id}) is already taken`, { cause: error });
    }
  }

  async findByPrefix(prefix: string): Promise<ApiKeyRecord | null> {
    const claim = await this.db.collection(API_KEY_PREFIXES).doc(prefix).get();
    if (!claim.exists) return null;
    return this.get((claim.data() as { key_id: string }).key_id);
  }

  async get(id: string): Promise<ApiKeyRecord | null> {
    return recordOf(await this.keyRef(id).get());
  }

  async listForUser(userId: string, includeRevoked: boolean): Promise<ApiKeyRecord[]> {
    // One composite index (user_id, created_at desc); revoked keys are dropped here rather than
    // by a second index, since a user holds a handful of keys.
    // Ties on created_at come id descending (Firestore's implicit document-name order follows the
    // last orderBy, and the document id is the key id), as the embedded store orders them.
    const snap = await this.db.collection(API_KEYS).where('user_id', '==', userId).orderBy('created_at', 'desc').get();
    const keys = snap.docs.map((d) => fromDoc(d.data() as ApiKeyDoc));
    return includeRevoked ? keys : keys.filter((k) => k.revokedAt === null);
  }

  async revoke(userId: string, id: string, now: Date): Promise<ApiKeyRecord | null> {
    return this.db.runTransaction(async (tx) => {
      const key = recordOf(await tx.get(this.keyRef(id)));
      if (key === null || key.userId !== userId) return null;
      if (key.revokedAt !== null) return key;
      tx.update(this.keyRef(id), { revoked_at: Timestamp.fromDate(now) });
      return { ...key, revokedAt: now };
    });
  }

  async inactive(ids: readonly string[]): Promise<string[]> {
    const active = new Set<string>();
    for (let i = 0; i < ids.length; i += READ_CHUNK) {
      const snaps = await this.db.getAll(...ids.slice(i, i + READ_CHUNK).map((id) => this.keyRef(id)));
      for (const snap of snaps) if (recordOf(snap)?.revokedAt === null) active.add(snap.id);
    }
    return ids.filter((id) => !active.has(id));
  }

  private keyRef(id: string) {
    return this.db.collection(API_KEYS).doc(id);
  }
}
