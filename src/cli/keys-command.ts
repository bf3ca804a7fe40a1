import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { openSqlite } from '../adapters/local/sqlite/database.js';
import { SqliteApiKeyStore } from '../adapters/local/sqlite-api-key-store.js';
import { ApiKeys } from '../auth/api-keys.js';
import { DomainError } from '../domain/errors.js';
import { z } from 'zod';
import type { ApiKeyStore } from '../ports/api-key-store.js';
import { ConfigError, parseEnv } from '../env-settings.js';
import { backendEnv, gcpEnv } from '../adapters/gcp/gcp-config.js';
import { createFirestoreClient } from '../adapters/gcp/firestore-client.js';
import { FirestoreApiKeyStore } from '../adapters/gcp/firestore-api-key-store.js';

export const KEYS_USAGE = `usage: omtx keys create --user ID [--org ID] [--name NAME] [--data-dir DIR]
       omtx keys list --user ID [--all] [--data-dir DIR]
       omtx keys revoke --user ID --id KEY_ID [--data-dir DIR]

Manages API keys in the store the api reads: the data directory's (OMTX_DATA_DIR, ./.omtx by
default), or Firestore's with OMTX_BACKEND=gcp and OMTX_GCP_PROJECT, without a running api: the first key of a deployment that requires authentication comes from here.
create prints the key once, on stdout; store it now. Audit entries go to stderr.`;

/** `omtx keys …`: returns the exit code. */
export async function runKeysCommand(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        user: { type: 'string' },
        org: { type: 'string' },
        name: { type: 'string' },
        id: { type: 'string' },
        all: { type: 'boolean' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    console.error(`omtx keys: ${(error as Error).message}\n${KEYS_USAGE}`);
    return 2;
  }
  const { positionals, values } = parsed;
  const action = positionals[0];
  if (values.help) {
    console.log(KEYS_USAGE);
    return 0;
  }
  if (!['create', 'list', 'revoke'].includes(action ?? '') || !values.user || (action === 'revoke' && !values.id)) {
    console.error(KEYS_USAGE);
    return 2;
  }
  const store = openApiKeyStore(env, values['data-dir']);
  const audit = pino({ base: { service: 'omtx-cli' } }, pino.destination(2));
  const keys = new ApiKeys(store.keys, audit, { cacheSeconds: 0, clock: () => new Date() });
  const actor = { id: `cli:${env.USER ?? 'unknown'}`, credential: 'cli', apiKeyId: null };
  try {
    if (action === 'create') {
      const { key, secret } = await keys.create(
        actor,
        { userId: values.user, organizationId: values.org ?? null },
        values.name ?? 'bootstrap',
      );
      console.error(
        `created key ${key.id} (prefix ${key.prefix}) for user ${key.userId}${key.organizationId ? ` in ${key.organizationId}` : ''}; it is shown once:`,
      );
      console.log(secret);
    } else if (action === 'list') {
      for (const k of await keys.list(values.user, values.all === true)) {
        console.log(
          [
            k.id,
            k.prefix,
            k.name,
            k.organizationId ?? '-',
            k.createdAt.toISOString(),
            k.revokedAt?.toISOString() ?? 'active',
          ].join('\t'),
        );
      }
    } else {
      const key = await keys.revoke(actor, values.user, values.id!);
      console.error(`revoked key ${key.id} (prefix ${key.prefix})`);
    }
    return 0;
  } catch (error) {
    if (error instanceof DomainError) {
      console.error(`omtx keys: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    audit.flush();
    await store.close();
  }
}

const keyStoreEnv = z.object({
  ...backendEnv,
  OMTX_GCP_PROJECT: gcpEnv.OMTX_GCP_PROJECT,
  OMTX_FIRESTORE_DATABASE: gcpEnv.OMTX_FIRESTORE_DATABASE,
});

/** The key store the api of this environment reads: the data directory's, or Firestore's (`OMTX_BACKEND=gcp`). */
function openApiKeyStore(
  env: Record<string, string | undefined>,
  dataDirFlag: string | undefined,
): { keys: ApiKeyStore; close(): Promise<void> } {
  const c = parseEnv(keyStoreEnv, env, 'configuration');
  if (c.OMTX_BACKEND === 'gcp') {
    if (c.OMTX_GCP_PROJECT === undefined)
      throw new ConfigError('invalid configuration:\n  OMTX_GCP_PROJECT is required when OMTX_BACKEND=gcp');
    const db = createFirestoreClient({ projectId: c.OMTX_GCP_PROJECT, databaseId: c.OMTX_FIRESTORE_DATABASE });
    return { keys: new FirestoreApiKeyStore(db), close: () => db.terminate() };
  }
  const db = openSqlite(join(resolve(dataDirFlag ?? env.OMTX_DATA_DIR ?? './.omtx'), 'omtx.sqlite'));
  return { keys: new SqliteApiKeyStore(db), close: async () => void db.close() };
}
