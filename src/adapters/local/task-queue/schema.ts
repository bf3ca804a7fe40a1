import type { Database } from 'better-sqlite3';

/**
 * One row per task name and queue. A row lives on after its task ends (`succeeded` or
 * `failed`) as a tombstone, so the name stays taken like in Cloud Tasks; old tombstones are
 * purged by the dispatcher.
 *
 * `due_at_ms` is when the dispatcher must look at the row next: the schedule time while
 * waiting, the lease expiry while leased, NULL once finished. One partial index on it serves
 * the due-task scan, depth() and the re-lease of tasks whose dispatcher died.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS task_tasks (
  queue          TEXT    NOT NULL,
  name           TEXT    NOT NULL,
  payload        TEXT    NOT NULL,
  state          TEXT    NOT NULL CHECK (state IN ('waiting', 'leased', 'succeeded', 'failed')),
  schedule_at_ms INTEGER NOT NULL,
  due_at_ms      INTEGER,
  attempts       INTEGER NOT NULL DEFAULT 0,
  executions     INTEGER NOT NULL DEFAULT 0,
  last_status    INTEGER,
  last_error     TEXT,
  lease_token    TEXT,
  created_at_ms  INTEGER NOT NULL,
  finished_at_ms INTEGER,
  PRIMARY KEY (queue, name)
);
CREATE INDEX IF NOT EXISTS task_tasks_due ON task_tasks (queue, due_at_ms) WHERE due_at_ms IS NOT NULL;
CREATE INDEX IF NOT EXISTS task_tasks_finished ON task_tasks (queue, state, finished_at_ms) WHERE due_at_ms IS NULL;
`;

/** Creates the task tables if missing; safe to run on every start and beside other stores. */
export function migrateTaskTables(db: Database): void {
  // WAL lets the api read while the dispatcher writes; a no-op when the job store set it already.
  db.pragma('journal_mode = WAL');
  db.exec(DDL);
}
