import { Firestore } from '@google-cloud/firestore';
import { afterAll, describe, expect, it } from 'vitest';
import { startFirestoreEmulator, type RunningEmulator } from '../../../test/support/emulators/firestore-emulator.js';
import { FirestoreJobStore } from './firestore-job-store.js';

/** Resolves once `ping` resolves; rejects with its last error after `deadlineMs` (a hang made readable). */
async function untilPingAnswers(store: FirestoreJobStore, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await store.ping();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`ping still failing after ${deadlineMs} ms: ${String(error)}`);
    }
  }
}

describe('FirestoreJobStore.ping follows the emulator going away and coming back', () => {
  let emulator: RunningEmulator | null = null;
  afterAll(async () => {
    await emulator?.stop();
  });

  it('rejects within a few seconds once Firestore is gone, and resolves again on the same client once it is back', async () => {
    emulator = await startFirestoreEmulator(); // a dedicated one: this test stops it
    const { port, host } = emulator;
    const db = new Firestore({ projectId: 'omtx-ping', host, ssl: false, preferRest: false });
    const store = new FirestoreJobStore(db, { pingTimeoutMs: 2_000 });
    await store.ping();

    await emulator.stop();
    emulator = null;
    const started = performance.now();
    await expect(store.ping()).rejects.toThrow(/Firestore/);
    const tookMs = performance.now() - started;
    console.info(`ping rejected ${Math.round(tookMs)} ms after the emulator stopped`);
    expect(tookMs).toBeLessThan(5_000);

    emulator = await startFirestoreEmulator(port);
    const back = performance.now();
    await untilPingAnswers(store, 30_000);
    console.info(`ping answered ${Math.round(performance.now() - back)} ms after the emulator came back`);
    await db.terminate();
  }, 90_000);
});
