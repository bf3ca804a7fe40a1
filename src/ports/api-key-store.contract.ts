import { describe, expect, it } from 'vitest';
import type { ApiKeyRecord, ApiKeyStore } from './api-key-store.js';
import { T0, at, newId } from './testing/records.js';

function buildKey(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id: newId('key'),
    prefix: newId('p')
      .replace(/[^a-z0-9]/g, '')
      .slice(-12),
    userId: 'alice',
    organizationId: 'lab-a',
    name: 'laptop',
    secretHash: 'scrypt$16384$8$1$00ff$abcdef',
    createdAt: T0,
    revokedAt: null,
    ...overrides,
  };
}

/** The suite every ApiKeyStore adapter passes; `open` gives a fresh, empty store. */
export function describeApiKeyStoreContract(name: string, open: () => Promise<ApiKeyStore>): void {
  describe(`ApiKeyStore contract: ${name}`, () => {
    it('keeps every field of a key exactly and finds it by id and by prefix', async () => {
      const store = await open();
      const key = buildKey({ organizationId: null });
      await store.create(key);
      expect(await store.get(key.id)).toEqual(key);
      expect(await store.findByPrefix(key.prefix)).toEqual(key);
      expect(await store.get('missing')).toBeNull();
      expect(await store.findByPrefix('missing')).toBeNull();
    });

    it('refuses a second key with a prefix already taken', async () => {
      const store = await open();
      const key = buildKey();
      await store.create(key);
      await expect(store.create(buildKey({ prefix: key.prefix }))).rejects.toThrow();
    });

    it("lists a user's keys newest first, revoked ones only when asked", async () => {
      const store = await open();
      const older = buildKey({ createdAt: at(0) });
      const newer = buildKey({ createdAt: at(1000) });
      const bobs = buildKey({ userId: 'bob' });
      for (const k of [older, newer, bobs]) await store.create(k);
      expect((await store.listForUser('alice', false)).map((k) => k.id)).toEqual([newer.id, older.id]);
      await store.revoke('alice', older.id, at(2000));
      expect((await store.listForUser('alice', false)).map((k) => k.id)).toEqual([newer.id]);
      expect((await store.listForUser('alice', true)).map((k) => k.id)).toEqual([newer.id, older.id]);
      expect((await store.listForUser('bob', true)).map((k) => k.id)).toEqual([bobs.id]);
    });

    it("revokes only the user's own key, once", async () => {
      const store = await open();
      const key = buildKey();
      await store.create(key);
      expect(await store.revoke('bob', key.id, at(1))).toBeNull();
      expect((await store.get(key.id))!.revokedAt).toBeNull();
      expect((await store.revoke('alice', key.id, at(5)))!.revokedAt).toEqual(at(5));
      expect((await store.revoke('alice', key.id, at(9)))!.revokedAt).toEqual(at(5));
      expect(await store.revoke('alice', 'missing', at(9))).toBeNull();
    });

    it('names the revoked and unknown keys among a set', async () => {
      const store = await open();
      const live = buildKey();
      const revoked = buildKey();
      await store.create(live);
      await store.create(revoked);
      await store.revoke('alice', revoked.id, at(1));
      expect((await store.inactive([live.id, revoked.id, 'gone'])).sort()).toEqual([revoked.id, 'gone'].sort());
      expect(await store.inactive([])).toEqual([]);
    });
  });
}
