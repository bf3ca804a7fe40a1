import { Firestore } from '@google-cloud/firestore';
import type { GcpConfig } from './gcp-config.js';

/**
 * The Firestore client of a configuration, shared by every Firestore adapter of a process.
 * The SDK points itself at `FIRESTORE_EMULATOR_HOST` when that is set.
 */
export function createFirestoreClient(gcp: Pick<GcpConfig, 'projectId' | 'databaseId'>): Firestore {
  return new Firestore({ projectId: gcp.projectId, databaseId: gcp.databaseId });
}
