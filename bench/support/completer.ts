/**
 * The "worker" of bench/subscriptions.bench.ts: another process on the same SQLite file that
 * claims and completes a batch's children at a fixed rate through the SqliteJobStore, and
 * prints, as one JSON line at the end, when each completion was committed (epoch ms, taken
 * right after the transaction returned). Usage:
 *   node --import tsx bench/support/completer.ts <sqlite file> <batch id> <completions per second>
 */
import { openSqlite } from '../../src/adapters/local/sqlite/database.js';
import { SqliteJobStore } from '../../src/adapters/local/sqlite-job-store.js';
import { buildResult } from '../../src/ports/testing/records.js';

const [file, batchId, rateText] = process.argv.slice(2);
if (!file || !batchId || !rateText) throw new Error('usage: completer.ts <sqlite file> <batch id> <per second>');
const db = openSqlite(file);
const store = new SqliteJobStore(db);
const children = db
  .prepare('SELECT id, batch_index AS batchIndex FROM jobs WHERE batch_id = ? ORDER BY batch_index')
  .all(batchId) as {
  id: string;
  batchIndex: number;
}[];
const intervalMs = 1000 / Number(rateText);
const committedAt: number[] = [];
const started = Date.now();
for (const [n, child] of children.entries()) {
  const due = started + n * intervalMs;
  if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
  const claim = await store.claim(child.id, new Date(), 60_000);
  if (!claim.claimed) throw new Error(`could not claim ${child.id}: ${claim.reason}`);
  await store.complete(child.id, claim.attempt, buildResult({ affinity: -(n % 50) / 10 }), new Date());
  committedAt[child.batchIndex] = Date.now();
}
db.close();
process.stdout.write(JSON.stringify({ committedAt }) + '\n');
