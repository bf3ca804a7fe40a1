import type { BulkWriter, Firestore } from '@google-cloud/firestore';

/**
 * Runs the writes `ops` queues on a BulkWriter and rejects with the first write that failed
 * for good (BulkWriter retries transient ones). `close()` resolves even when a write failed:
 * only each write's own promise rejects, so every one is awaited here instead of being left an
 * unhandled rejection.
 */
export async function bulk(db: Firestore, ops: (writer: BulkWriter) => Promise<unknown>[]): Promise<void> {
  const writer = db.bulkWriter();
  const all = Promise.all(ops(writer));
  // Promise.all rejects at the first failure while close() still runs: mark it handled now, report it below.
  all.catch(() => {});
  await writer.close();
  await all;
}
