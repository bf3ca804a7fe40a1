import { describeJobStoreContract, type StoreHarness } from '../../ports/job-store.contract.js';
import { describeChangeFeedContract } from '../../ports/change-feed.contract.js';
import { emulatorFirestore } from '../../../test/support/emulators/firestore.js';
import { FirestoreJobStore } from './firestore-job-store.js';
import { FirestoreChangeFeed } from './firestore-change-feed.js';

/** A store and its feed on a fresh emulator project, as the composition root wires them. */
async function makeHarness(): Promise<StoreHarness> {
  const { db } = emulatorFirestore();
  const store = new FirestoreJobStore(db);
  const feed = new FirestoreChangeFeed(db, { clockSkewMs: 0 });
  return {
    store,
    feed,
    async close() {
      await feed.close();
      await store.close();
      await db.terminate();
    },
  };
}

// 120 random steps, not the default 300: each step re-reads the whole 200-child batch, its
// shards and its stats through the emulator (~65 ms a step), and CI runs this file on a
// shared 2-vCPU machine with the whole suite. 120 steps still reach the cancel at step 102
// and every operation many times over; the SQLite store runs the full 300.
describeJobStoreContract('Firestore', makeHarness, { randomSteps: 120 });
describeChangeFeedContract('Firestore', makeHarness);
