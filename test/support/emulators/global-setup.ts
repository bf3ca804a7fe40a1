import type { TestProject } from 'vitest/node';
import { startFirestoreEmulator } from './firestore-emulator.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `127.0.0.1:port` of the Firestore emulator every suite shares (one projectId each). */
    firestoreEmulatorHost: string;
  }
}

/**
 * Starts the emulators the Google Cloud adapters are tested against, once per run. A
 * missing emulator fails the run with what to install: those suites never skip.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const firestore = await startFirestoreEmulator();
  project.provide('firestoreEmulatorHost', firestore.host);
  return async () => {
    await firestore.stop();
  };
}
