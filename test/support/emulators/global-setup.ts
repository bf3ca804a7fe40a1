import type { TestProject } from 'vitest/node';
import { startFirestoreEmulator } from './firestore-emulator.js';
import { startStorageEmulator } from './storage-emulator.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `127.0.0.1:port` of the Firestore emulator every suite shares (one projectId each). */
    firestoreEmulatorHost: string;
    /** `http://127.0.0.1:port` of the Cloud Storage emulator every suite shares (one bucket each). */
    storageEmulatorHost: string;
  }
}

/**
 * Starts the emulators the Google Cloud adapters are tested against, once per run, side by
 * side. A missing emulator fails the run with what to install: those suites never skip.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [firestore, storage] = await Promise.allSettled([startFirestoreEmulator(), startStorageEmulator()]);
  const stopAll = async () => {
    await Promise.all([firestore, storage].map((started) => (started.status === 'fulfilled' ? started.value.stop() : undefined)));
  };
  if (firestore.status === 'rejected' || storage.status === 'rejected') {
    await stopAll();
    const errors = [firestore, storage].flatMap((started) => (started.status === 'rejected' ? [started.reason as unknown] : []));
    throw errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map(String).join('\n'));
  }
  project.provide('firestoreEmulatorHost', firestore.value.host);
  project.provide('storageEmulatorHost', storage.value.url);
  return stopAll;
}
