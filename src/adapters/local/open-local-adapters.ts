import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SqliteDatabase } from './sqlite/database.js';
import { openSqlite } from './sqlite/database.js';
import { SqliteJobStore } from './sqlite-job-store.js';
import { SqliteChangeFeed } from './sqlite-change-feed.js';
import { FsBlobStore } from './fs-blob-store.js';
import { dataDirSecret } from './data-dir-secret.js';

export interface LocalAdapters {
  db: SqliteDatabase;
  jobs: SqliteJobStore;
  feed: SqliteChangeFeed;
  blobs: FsBlobStore;
}

/**
 * The embedded adapters over one data directory, as the api and the worker both open them:
 * one SQLite file (jobs, queue, change log), artifacts under `blobs/`, and the key that signs
 * artifact URLs, made once per directory and kept there.
 */
export function openLocalAdapters(dataDir: string, publicBaseUrl: string): LocalAdapters {
  mkdirSync(dataDir, { recursive: true });
  const db = openSqlite(join(dataDir, 'omtx.sqlite'));
  let feed: SqliteChangeFeed | null = null;
  const jobs = new SqliteJobStore(db, () => feed?.notify());
  feed = new SqliteChangeFeed(db);
  const blobs = new FsBlobStore({
    rootDir: join(dataDir, 'blobs'),
    secret: dataDirSecret(dataDir, 'signing.key'),
    publicBaseUrl,
  });
  return { db, jobs, feed, blobs };
}
