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

describeJobStoreContract('Firestore', makeHarness, { randomSteps: 300 });
describeChangeFeedContract('Firestore', makeHarness);
