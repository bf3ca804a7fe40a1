import { openSqlite, type SqliteDatabase } from '../../src/adapters/local/sqlite/database.js';
import { JOB_COLUMNS, SqliteJobStore } from '../../src/adapters/local/sqlite-job-store.js';
import { jobToRow, type JobRow } from '../../src/adapters/local/sqlite/job-rows.js';
import type { Job } from '../../src/domain/job.js';
import { buildJob, buildLigand, buildParameters, buildProtein, buildResult } from '../../src/ports/testing/records.js';
import { drugLikeSmiles } from './smiles.js';

/** The id of the i-th seeded job: UUID-shaped, like the api's own ids. */
export function seededJobId(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

/** When the i-th seeded job was created: one millisecond apart, the newest last. */
export const SEED_T0 = Date.parse('2025-01-01T00:00:00.000Z');

/**
 * Inserts `count` COMPLETED individual jobs of `owner` straight into the store's schema, in
 * one transaction with one prepared statement (the store's own `createJob` commits one by
 * one, far too slow for a million rows). Rows are what the store itself writes
 * (`jobToRow`), with 100 different ligands and results. COMPLETED, so the api's reaper
 * (which re-enqueues stale PENDING jobs) leaves them alone.
 */
export function seedIndividualJobs(sqliteFile: string, owner: string, count: number, onProgress?: (done: number) => void): void {
  const db = openSqlite(sqliteFile);
  try {
    new SqliteJobStore(db); // creates the schema
    insertJobs(db, owner, count, onProgress);
  } finally {
    db.close();
  }
}

function insertJobs(db: SqliteDatabase, owner: string, count: number, onProgress?: (done: number) => void): void {
  const insert = db.prepare(
    `INSERT INTO jobs (${JOB_COLUMNS.join(', ')}) VALUES (${JOB_COLUMNS.map((c) => '@' + c).join(', ')})`,
  );
  const smiles = drugLikeSmiles(100);
  // A handful of template rows, so a million inserts do not each serialize JSON.
  const templates: JobRow[] = smiles.map((s, i) => {
    const job: Job = buildJob({
      owner,
      model: 'BOLTZ2',
      status: 'COMPLETED',
      name: `screen hit ${i}`,
      ligand: buildLigand({ name: `L${i}`, smiles: s, canonicalSmiles: s, heavyAtoms: 20 + (i % 15), rotatableBonds: i % 8 }),
      protein: buildProtein({ structure: null, pocket: null }),
      parameters: buildParameters(),
      result: buildResult({ affinity: -1 - (i % 50) / 10, confidence: 0.5 + (i % 40) / 100 }),
      attempts: 1,
    });
    return jobToRow(job);
  });
  const run = db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const created = SEED_T0 + i;
      insert.run({
        ...templates[i % templates.length]!,
        id: seededJobId(i),
        idempotency_key: null,
        created_at: created,
        updated_at: created + 60_000,
        started_at: created + 1_000,
        completed_at: created + 60_000,
      });
      if (onProgress && (i + 1) % 100_000 === 0) onProgress(i + 1);
    }
  });
  run();
}
