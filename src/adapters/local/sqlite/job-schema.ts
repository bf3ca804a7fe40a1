import type { SqliteDatabase } from './database.js';

/**
 * Tables of the embedded JobStore. Every connection the API serves has an index whose order
 * is the page order, so a page is one range scan whatever its depth:
 * - a user's jobs and batches, newest first: (owner, kind, created_at, id) scanned backwards;
 * - a batch's children by index, by status, by affinity, by confidence (partial indexes hold
 *   only the children that have the value; the rest follow by index).
 * Times are integer milliseconds since the epoch.
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

export function migrateJobSchema(db: SqliteDatabase): void {
  db.exec(DDL);
  // Files made before the attempt budget restarted on retry lack its column.
  const columns = db.prepare('SELECT name FROM pragma_table_info(?)').all('jobs') as { name: string }[];
  if (!columns.some((c) => c.name === 'attempts_before_retry')) {
    db.exec('ALTER TABLE jobs ADD COLUMN attempts_before_retry INTEGER NOT NULL DEFAULT 0');
  }
}
