import { afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from './sqlite/database.js';
import { SqliteJobStore } from './sqlite-job-store.js';
import { SqliteWebhookStore } from './sqlite-webhook-store.js';
import { describeWebhookStoreContract } from '../../ports/webhook-store.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'omtx-sqlite-webhooks-'));
let files = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeWebhookStoreContract('SQLite', async () => {
  const db = openSqlite(join(dir, `store-${++files}.sqlite`));
  const jobs = new SqliteJobStore(db);
  return { jobs, webhooks: new SqliteWebhookStore(db), close: () => jobs.close() };
});
