import type { SqliteDatabase } from './database.js';
import { migrateWebhookSchema } from './webhook-schema.js';

/**
 * Tables of the embedded JobStore. Every connection the API serves has an index whose order
 * is the page order, so a page is one range scan whatever its depth:
 * - a user's jobs and batches, newest first: (owner, kind, created_at, id) scanned backwards;
 * - a batch's children by index, by status, by affinity, by confidence (partial indexes hold
 *   only the children that have the value; the rest follow by index).
 * Times are integer milliseconds since the epoch; usage is whole milliseconds and nano-dollars,
 * so a batch's sums (added to in the same transaction as each child's) stay exact.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS batches (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  name TEXT NOT NULL,
  model TEXT NOT NULL,
  status TEXT NOT NULL,
  protein TEXT NOT NULL,
  parameters TEXT NOT NULL,
  max_concurrent INTEGER,
  total INTEGER NOT NULL,
  pending INTEGER NOT NULL DEFAULT 0,
  queued INTEGER NOT NULL DEFAULT 0,
  running INTEGER NOT NULL DEFAULT 0,
  completed INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  cancelled INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  affinity_count INTEGER NOT NULL DEFAULT 0,
  affinity_sum REAL NOT NULL DEFAULT 0,
  affinity_best REAL,
  usage_runtime_ms INTEGER NOT NULL DEFAULT 0,
  usage_gpu_ms INTEGER NOT NULL DEFAULT 0,
  usage_cost_nano_usd INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  started_at INTEGER,
  completed_at INTEGER,
  idempotency_key TEXT
);
CREATE INDEX IF NOT EXISTS batches_by_owner ON batches (owner, created_at, id);
CREATE INDEX IF NOT EXISTS batches_by_owner_status ON batches (owner, status, created_at, id);
CREATE UNIQUE INDEX IF NOT EXISTS batches_idempotency ON batches (owner, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  kind TEXT NOT NULL,
  model TEXT NOT NULL,
  name TEXT,
  status TEXT NOT NULL,
  ligand TEXT NOT NULL,
  protein TEXT,
  parameters TEXT NOT NULL,
  batch_id TEXT REFERENCES batches (id),
  batch_index INTEGER,
  result TEXT,
  error TEXT,
  affinity REAL,
  confidence REAL,
  attempts INTEGER NOT NULL DEFAULT 0,
  attempts_before_retry INTEGER NOT NULL DEFAULT 0,
  lease_expires_at INTEGER,
  usage_runtime_ms INTEGER,
  usage_gpu_ms INTEGER,
  usage_cost_nano_usd INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  started_at INTEGER,
  completed_at INTEGER,
  idempotency_key TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner, kind, created_at, id);
CREATE INDEX IF NOT EXISTS jobs_by_owner_status ON jobs (owner, kind, status, created_at, id);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_batch ON jobs (batch_id, batch_index) WHERE batch_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_by_batch_status ON jobs (batch_id, status, batch_index) WHERE batch_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_by_batch_affinity ON jobs (batch_id, affinity, batch_index) WHERE affinity IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_by_batch_confidence ON jobs (batch_id, confidence, batch_index) WHERE confidence IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_running_leases ON jobs (lease_expires_at) WHERE status = 'RUNNING';
CREATE INDEX IF NOT EXISTS jobs_pending ON jobs (created_at) WHERE status = 'PENDING';
CREATE INDEX IF NOT EXISTS jobs_queued ON jobs (updated_at) WHERE status = 'QUEUED';
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency ON jobs (owner, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- The change log: written in the same transaction as the change it records, read by the
-- change feed of every process on this file (the worker may be another process).
CREATE TABLE IF NOT EXISTS job_changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT,
  batch_id TEXT,
  at INTEGER NOT NULL
);
`;

/**
 * Columns added after the first files were made, with the definition an older file gets:
 * the attempt budget restarting on retry, then cost accounting (a job that ran before it has
 * no usage; its batch's sums start at zero).
 */
const ADDED_COLUMNS: { table: 'jobs' | 'batches'; column: string; definition: string }[] = [
  { table: 'jobs', column: 'attempts_before_retry', definition: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'jobs', column: 'usage_runtime_ms', definition: 'INTEGER' },
  { table: 'jobs', column: 'usage_gpu_ms', definition: 'INTEGER' },
  { table: 'jobs', column: 'usage_cost_nano_usd', definition: 'INTEGER' },
  { table: 'batches', column: 'usage_runtime_ms', definition: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'batches', column: 'usage_gpu_ms', definition: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'batches', column: 'usage_cost_nano_usd', definition: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'batches', column: 'webhook_url', definition: 'TEXT' },
  // Organizations: the submitter's (for organization quotas) and whether its members may read the record.
  { table: 'jobs', column: 'organization_id', definition: 'TEXT' },
  { table: 'jobs', column: 'shared_with_org', definition: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'batches', column: 'organization_id', definition: 'TEXT' },
  { table: 'batches', column: 'shared_with_org', definition: 'INTEGER NOT NULL DEFAULT 0' },
  // The GPU quota counts open jobs by their estimate: a job stored before it has none (0), so
  // it counts what it records, as before.
  { table: 'jobs', column: 'estimate_gpu_ms', definition: 'INTEGER NOT NULL DEFAULT 0' },
  // `usage_gpu_ms` when the job was last retried: its new run spends on top of that. Only
  // the quota count reads it; it is not on the domain record.
  { table: 'jobs', column: 'gpu_ms_before_retry', definition: 'INTEGER NOT NULL DEFAULT 0' },
];

/**
 * The rows the GPU quota reads, and what each counts: a finished job its recorded GPU time; an
 * open one (PENDING, QUEUED, RUNNING) the more of what it recorded and what it recorded
 * before its last retry plus its estimate, so a job admitted but not yet run counts at once.
 * The partial indexes below hold exactly `GPU_ROWS`, with every column the sum reads.
 */
export const GPU_ROWS = '(usage_gpu_ms > 0 OR estimate_gpu_ms > 0)';
export const GPU_MS_COUNTED = `CASE WHEN status IN ('PENDING', 'QUEUED', 'RUNNING')
  THEN max(coalesce(usage_gpu_ms, 0), gpu_ms_before_retry + estimate_gpu_ms) ELSE coalesce(usage_gpu_ms, 0) END`;

/**
 * Indexes on added columns (made once the columns exist). Quotas count with them, each an
 * index-only scan over the rows that matter: a user's jobs not yet finished, and the jobs that
 * recorded or are estimated to use GPU time (by submission time, so a month's sum reads only
 * that month's entries); the same for an organization's. A user's jobs submitted today use
 * `jobs_by_owner`. The first GPU indexes held recorded time only: they are dropped.
 */
const ADDED_INDEXES = `
CREATE INDEX IF NOT EXISTS jobs_open_by_owner ON jobs (owner, status) WHERE status IN ('PENDING', 'QUEUED', 'RUNNING');
CREATE INDEX IF NOT EXISTS jobs_open_by_org ON jobs (organization_id, status) WHERE status IN ('PENDING', 'QUEUED', 'RUNNING');
CREATE INDEX IF NOT EXISTS jobs_by_org ON jobs (organization_id, created_at) WHERE organization_id IS NOT NULL;
DROP INDEX IF EXISTS jobs_gpu_by_owner;
DROP INDEX IF EXISTS jobs_gpu_by_org;
CREATE INDEX IF NOT EXISTS jobs_gpu_month_by_owner
  ON jobs (owner, created_at, status, usage_gpu_ms, estimate_gpu_ms, gpu_ms_before_retry) WHERE ${GPU_ROWS};
CREATE INDEX IF NOT EXISTS jobs_gpu_month_by_org
  ON jobs (organization_id, created_at, status, usage_gpu_ms, estimate_gpu_ms, gpu_ms_before_retry) WHERE ${GPU_ROWS};
`;

export function migrateJobSchema(db: SqliteDatabase): void {
  db.exec(DDL);
  const existing = (table: string) =>
    new Set((db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[]).map((c) => c.name));
  // Under the write lock: the api and the worker may open an old file at the same moment.
  db.transaction(() => {
    const columns = { jobs: existing('jobs'), batches: existing('batches') };
    for (const { table, column, definition } of ADDED_COLUMNS) {
      if (!columns[table].has(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
    }
  }).immediate();
  db.exec(ADDED_INDEXES);
  migrateWebhookSchema(db);
}
