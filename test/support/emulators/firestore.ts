import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { inject } from 'vitest';

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

/** Deletes every document of the emulator's project `projectId`. */
export async function wipeEmulatorProject(host: string, projectId: string): Promise<void> {
  const response = await fetch(`http://${host}/emulator/v1/projects/${projectId}/databases/(default)/documents`, {
    method: 'DELETE',
  });
  if (!response.ok) throw new Error(`wiping emulator project ${projectId}: HTTP ${response.status}`);
}
