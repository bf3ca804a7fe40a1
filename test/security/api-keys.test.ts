import { print } from 'graphql';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstEvent, JWT_ENV, sessionFor, startSecureServer, type SecureServer } from './support.js';
import type { ApiKeyStore } from '../../src/ports/api-key-store.js';
import {
  CreateApiKeyDocument,
  JobUpdatedDocument,
  RevokeApiKeyDocument,
  SecuritySubmitPredictionDocument,
  WhoAmIDocument,
} from '../../schema/__generated__/graphql.js';
import { LIGANDS, vinaProtein } from '../support/inputs.js';

/** The secret part of `omtx_<12 hex>_<secret>` (the secret itself may hold underscores). */
const secretPart = (key: string) => key.slice('omtx_'.length + 13);

/** The server's key store, to watch (or hold) what a verification reads. */
const storeOf = (server: SecureServer) => (server.app.apiKeys as unknown as { store: ApiKeyStore }).store;

describe('API keys (authentication required)', () => {
  let server: SecureServer;
  /** alice's API key, and alice's JWT session (what may create keys). */
  let admin: string;
  let session: string;

  beforeAll(async () => {
    server = await startSecureServer({ OMTX_AUTH_REQUIRED: 'true', ...JWT_ENV });
    admin = (await server.keyFor('alice', 'lab-a')).authorization;
    session = await sessionFor('alice', 'lab-a');
  });
  afterAll(async () => server.close());

  it('answers a request without credentials with 401 UNAUTHENTICATED and a Bearer challenge', async () => {
    const answer = await server.request(WhoAmIDocument, {});
    expect(answer.status).toBe(401);
    expect(answer.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(answer.data ?? null).toBeNull();
  });

  it.each([
    ['an unknown key of the right shape', `Bearer omtx_0123456789ab_${'A'.repeat(43)}`],
    ['a mangled key', 'Bearer omtx_nope'],
    ['another scheme', 'Basic YWxpY2U6c2VjcmV0'],
    ['a bare token without a scheme', 'omtx_0123456789ab_x'],
  ])('answers %s with 401, never 5xx', async (_what, authorization) => {
    const answer = await server.request(WhoAmIDocument, {}, authorization);
    expect(answer.status).toBe(401);
    expect(answer.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a real key with one character of its secret changed', async () => {
    const good = admin;
    const last = good.at(-1) === 'A' ? 'B' : 'A';
    const answer = await server.request(WhoAmIDocument, {}, good.slice(0, -1) + last);
    expect(answer.status).toBe(401);
  });

  it('creates a key whose secret is shown once, uses it, lists it without the secret, revokes it, then refuses it', async () => {
    const created = await server.request(CreateApiKeyDocument, { name: 'ci runner' }, session);
    expect(created.errors).toBeUndefined();
    const { secret, apiKey } = created.data!.createApiKey;
    expect(secret).toMatch(new RegExp(`^omtx_${apiKey.prefix}_[A-Za-z0-9_-]{43}$`));
    expect(apiKey).toMatchObject({ name: 'ci runner', organizationId: 'lab-a', revokedAt: null });

    const me = await server.request(WhoAmIDocument, {}, `Bearer ${secret}`);
    expect(me.status).toBe(200);
    expect(me.data!.viewer).toMatchObject({ id: 'alice', organizationId: 'lab-a', credential: 'apiKey' });
    const listed = me.data!.viewer.apiKeys.find((k) => k.id === apiKey.id);
    expect(listed).toMatchObject({ name: 'ci runner', prefix: apiKey.prefix, revokedAt: null });
    expect(JSON.stringify(me.data)).not.toContain(secretPart(secret));

    // The store keeps only a salted scrypt hash.
    const db = new Database(join(server.app.config.dataDir, 'omtx.sqlite'), { readonly: true });
    const row = db.prepare('SELECT * FROM api_keys WHERE id = ?').get(apiKey.id) as Record<string, unknown>;
    db.close();
    expect(JSON.stringify(row)).not.toContain(secretPart(secret));
    expect(row.secret_hash).toMatch(/^scrypt\$16384\$8\$1\$[0-9a-f]{32}\$[0-9a-f]{64}$/);

    const revoked = await server.request(RevokeApiKeyDocument, { id: apiKey.id }, admin);
    expect(revoked.data!.revokeApiKey.revokedAt).not.toBeNull();
    // At once, although the key was verified (and cached) a moment ago.
    const after = await server.request(WhoAmIDocument, {}, `Bearer ${secret}`);
    expect(after.status).toBe(401);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const list = await server.request(WhoAmIDocument, { includeRevoked: false }, admin);
    expect(list.data!.viewer.apiKeys.map((k) => k.id)).not.toContain(apiKey.id);
    const all = await server.request(WhoAmIDocument, { includeRevoked: true }, admin);
    expect(all.data!.viewer.apiKeys.find((k) => k.id === apiKey.id)?.revokedAt).not.toBeNull();
  });

  it('bootstraps a first key with `omtx keys create`, printed once on stdout, usable at once', async () => {
    const cli = ['--import', 'tsx', 'src/cli/main.ts', 'keys'];
    const dataDir = server.app.config.dataDir;
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [...cli, 'create', '--user', 'ops', '--org', 'lab-z', '--name', 'first', '--data-dir', dataDir],
      { env: { ...process.env, OMTX_DATA_DIR: '' } },
    );
    const key = stdout.trim();
    expect(key).toMatch(/^omtx_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(stderr).toMatch(/shown once/);
    expect(stderr).toContain('"audit":true');
    expect(stderr).not.toContain(secretPart(key));
    const me = await server.request(WhoAmIDocument, {}, `Bearer ${key}`);
    expect(me.data!.viewer).toMatchObject({ id: 'ops', organizationId: 'lab-z', credential: 'apiKey' });
    const usage = await promisify(execFile)(process.execPath, [...cli, 'create'], {}).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(usage).toMatchObject({ code: 2, stderr: expect.stringMatching(/usage: omtx keys create --user ID/) });
  });

  it("cannot revoke or list another user's key: NOT_FOUND, and the key keeps working", async () => {
    const bobs = await server.keyFor('bob', 'lab-a');
    const attempt = await server.request(RevokeApiKeyDocument, { id: bobs.id }, admin);
    expect(attempt.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const mine = await server.request(WhoAmIDocument, { includeRevoked: true }, admin);
    expect(mine.data!.viewer.apiKeys.map((k) => k.id)).not.toContain(bobs.id);
    expect((await server.request(WhoAmIDocument, {}, bobs.authorization)).data!.viewer.id).toBe('bob');
  });

  it('refuses an empty key name with BAD_USER_INPUT', async () => {
    const answer = await server.request(CreateApiKeyDocument, { name: '   ' }, session);
    expect(answer.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('writes audit entries for creation and revocation with who, what, when and the prefix, never the secret', async () => {
    const created = await server.request(CreateApiKeyDocument, { name: 'audited' }, session);
    const { secret, apiKey } = created.data!.createApiKey;
    await server.request(RevokeApiKeyDocument, { id: apiKey.id }, admin);
    const entries = server.logs.filter((l) => l.audit === true && l.keyId === apiKey.id);
    expect(entries.map((e) => e.event)).toEqual(['apiKey.created', 'apiKey.revoked']);
    expect(entries.map((e) => (e.actor as { credential: string }).credential)).toEqual(['jwt', 'apiKey']);
    for (const entry of entries) {
      expect(entry).toMatchObject({ keyPrefix: apiKey.prefix, userId: 'alice', organizationId: 'lab-a', actor: { id: 'alice' } });
      expect(typeof entry.at).toBe('string');
    }
    expect(JSON.stringify(server.logs)).not.toContain(secretPart(secret));
  });

  it('refuses createApiKey to a request authenticated with an API key (FORBIDDEN), so a stolen key mints none', async () => {
    const before = await server.request(WhoAmIDocument, { includeRevoked: true }, session);
    const answer = await server.request(CreateApiKeyDocument, { name: 'survivor' }, admin);
    expect(answer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(answer.errors?.[0]?.message).toMatch(/JWT session.*omtx keys create/);
    const after = await server.request(WhoAmIDocument, { includeRevoked: true }, session);
    expect(after.data!.viewer.apiKeys).toHaveLength(before.data!.viewer.apiKeys.length);
  });

  it('runs scrypt once for a wrong secret of a known prefix, however often (and however concurrently) it is sent', async () => {
    const { prefix } = await server.keyFor('mallory-target');
    const wrong = `Bearer omtx_${prefix}_${'B'.repeat(43)}`;
    const runs = server.app.apiKeys.stats().scryptRuns;
    const answers = await Promise.all(Array.from({ length: 5 }, () => server.request(WhoAmIDocument, {}, wrong)));
    for (let i = 0; i < 5; i++) answers.push(await server.request(WhoAmIDocument, {}, wrong));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(401));
    expect(server.app.apiKeys.stats().scryptRuns - runs).toBe(1);
    // Another wrong secret is another guess: it costs its own scrypt.
    await server.request(WhoAmIDocument, {}, `Bearer omtx_${prefix}_${'C'.repeat(43)}`);
    expect(server.app.apiKeys.stats().scryptRuns - runs).toBe(2);
  });

  it('does not cache a key revoked while its verification was under way', async () => {
    const key = await server.keyFor('alice', 'lab-a');
    const store = storeOf(server);
    const findByPrefix = store.findByPrefix.bind(store);
    let read!: () => void;
    let release!: () => void;
    const wasRead = new Promise<void>((resolve) => (read = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    // The verification reads the live record, then waits while the key is revoked.
    store.findByPrefix = async (prefix) => {
      const record = await findByPrefix(prefix);
      if (prefix === key.prefix) {
        read();
        await released;
      }
      return record;
    };
    try {
      const racing = server.request(WhoAmIDocument, {}, key.authorization);
      await wasRead;
      const revoked = await server.request(RevokeApiKeyDocument, { id: key.id }, session);
      expect(revoked.data!.revokeApiKey.revokedAt).not.toBeNull();
      release();
      expect((await racing).status).toBe(401);
    } finally {
      store.findByPrefix = findByPrefix;
    }
    const after = await server.request(WhoAmIDocument, {}, key.authorization);
    expect(after.status).toBe(401);
  });

  it('closes a socket without credentials, or with a bad key, with 4401', async () => {
    for (const authorization of [undefined, `Bearer omtx_0123456789ab_${'A'.repeat(43)}`]) {
      const socket = server.socket(authorization);
      expect((await socket.closed).code).toBe(4401);
    }
  });

  it('accepts a key in connectionParams, and closes that socket with 4401 when the key is revoked', async () => {
    const key = await server.keyFor('alice', 'lab-a');
    const other = await server.keyFor('alice', 'lab-a');
    const submitted = await server.request(
      SecuritySubmitPredictionDocument,
      { input: { model: 'VINA', protein: vinaProtein(), ligand: LIGANDS[1]! } },
      key.authorization,
    );
    const jobId = submitted.data!.submitPrediction.job.id;
    const socket = server.socket(key.authorization);
    const bystander = server.socket(other.authorization);
    await Promise.all([socket.connected, bystander.connected]);
    // The job stays QUEUED (no worker), so the subscription stays open.
    const first = await firstEvent<{ jobUpdated: { id: string; status: string } }>(socket.client, print(JobUpdatedDocument), {
      id: jobId,
    });
    expect(first.data?.jobUpdated.id).toBe(jobId);

    await server.request(RevokeApiKeyDocument, { id: key.id }, admin);
    const closed = await socket.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/revoked/);
    // Another key's socket is left alone.
    const still = await firstEvent<{ jobUpdated: { id: string } }>(bystander.client, print(JobUpdatedDocument), { id: jobId });
    expect(still.data?.jobUpdated.id).toBe(jobId);
  });

  it('closes a socket whose key was revoked by another process (the CLI) within the sweep interval', async () => {
    const sweeping = await startSecureServer({ OMTX_AUTH_REQUIRED: 'true', OMTX_API_KEY_CACHE_SECONDS: '1' });
    try {
      const key = await sweeping.keyFor('dora');
      const socket = sweeping.socket(key.authorization);
      await socket.connected;
      // Straight to the store, as `omtx keys revoke` in another process does: no in-process event.
      const db = new Database(join(sweeping.app.config.dataDir, 'omtx.sqlite'));
      db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(Date.now(), key.id);
      db.close();
      expect((await socket.closed).code).toBe(4401);
    } finally {
      await sweeping.close();
    }
  });
});
