import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, inject } from 'vitest';

/**
 * A Firestore client on the shared emulator, in a project of its own (the emulator keeps
 * each projectId apart), so a suite starts empty and suites never see each other's data.
 */
export function emulatorFirestore(projectId = `omtx-${randomUUID().slice(0, 8)}`): {
  db: Firestore;
  projectId: string;
  host: string;
} {
  const host = inject('firestoreEmulatorHost');
  return { db: new Firestore({ projectId, host, ssl: false, preferRest: false }), projectId, host };
}

/**
 * For a test file: a maker of emulator clients (in a fresh project unless given one) that
 * terminates every client it made after the file's tests.
 */
export function emulatorClientsClosedAfterAll(): (projectId?: string) => { db: Firestore; projectId: string } {
  const clients: Firestore[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((db) => db.terminate()));
  });
  return (projectId) => {
    const opened = emulatorFirestore(projectId);
    clients.push(opened.db);
    return opened;
  };
}
