import { describe, expect, it } from 'vitest';
import { emulatorClientsClosedAfterAll } from '../../../test/support/emulators/firestore.js';
import type { ApiKeyRecord } from '../../ports/api-key-store.js';
import { describeApiKeyStoreContract } from '../../ports/api-key-store.contract.js';
import { T0, newId } from '../../ports/testing/records.js';
import { FirestoreApiKeyStore } from './firestore-api-key-store.js';

/** Emulator clients, each in a fresh project unless given one, closed after the file's tests. */
const client = emulatorClientsClosedAfterAll();

function keyOf(fields: Pick<ApiKeyRecord, 'id' | 'prefix'> & Partial<ApiKeyRecord>): ApiKeyRecord {
  return {
    userId: 'alice',
    organizationId: null,
    name: 'laptop',
    secretHash: 'scrypt$16384$8$1$00ff$abcdef',
    createdAt: T0,
    revokedAt: null,
    ...fields,
  };
}

describeApiKeyStoreContract('Firestore (emulator)', async () => new FirestoreApiKeyStore(client().db));

describe('FirestoreApiKeyStore', () => {
  it('lists keys created at the same moment by id, descending, as the embedded store does', async () => {
    const store = new FirestoreApiKeyStore(client().db);
    const ids = ['key-b', 'key-c', 'key-a'];
    for (const id of ids) await store.create(keyOf({ id, prefix: `p${id.slice(-1)}00000000000` }));
    expect((await store.listForUser('alice', true)).map((k) => k.id)).toEqual(['key-c', 'key-b', 'key-a']);
  });

  it('stores a prefix once when two processes create keys with it at the same moment', async () => {
    const first = client();
    const stores = [new FirestoreApiKeyStore(first.db), new FirestoreApiKeyStore(client(first.projectId).db)];
    const prefix = 'race0000prefix';
    const keys = stores.map((_, i) => keyOf({ id: newId('key'), prefix, userId: `user-${i}` }));
    const outcomes = await Promise.allSettled(stores.map((store, i) => store.create(keys[i]!)));
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const winner = keys[outcomes.findIndex((o) => o.status === 'fulfilled')]!;
    const loser = keys.find((k) => k !== winner)!;
    expect(await stores[0]!.findByPrefix(prefix)).toEqual(winner);
    // The loser's batch stored nothing, not even its key document.
    expect(await stores[1]!.get(loser.id)).toBeNull();
  });
});
