import { afterAll, describe, expect, it } from 'vitest';
import type { Protein } from '../../domain/job.js';
import { buildBatch, buildJob, buildProtein } from '../../ports/testing/records.js';
import { emulatorFirestore } from '../../../test/support/emulators/firestore.js';
import { FirestoreJobStore } from './firestore-job-store.js';
import { JOBS } from './firestore/job-documents.js';
import { PAYLOADS } from './firestore/payloads.js';

const MIB = 1024 * 1024;

/** `bytes` of text in PDB-like lines, numbered so no two chunks repeat; a few non-ASCII characters cross chunk edges. */
function bigText(bytes: number, record: string): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `${record} ${String(i).padStart(7, '0')} Å ${'x'.repeat(60)}\n`;
    lines.push(line);
    size += Buffer.byteLength(line);
  }
  return lines.join('');
}

describe('FirestoreJobStore keeps large protein texts out of the 1 MiB document', () => {
  const { db } = emulatorFirestore();
  const store = new FirestoreJobStore(db);
  afterAll(() => db.terminate());
  const protein: Protein = buildProtein({
    structure: { format: 'PDB', content: bigText(3 * MIB, 'ATOM') },
    msa: { format: 'A3M', content: bigText(2 * MIB, '>seq') },
  });

  /** Firestore refuses a document over 1 MiB; this checks ours stay far below with a margin. */
  async function expectSmallDocument(id: string): Promise<void> {
    const snapshot = await db.collection(JOBS).doc(id).get();
    expect(JSON.stringify(snapshot.data()).length).toBeLessThan(64 * 1024);
  }

  it('round-trips a 3 MiB PDB structure and a 2 MiB MSA through createBatch and getBatches byte for byte', async () => {
    const { batch, children } = buildBatch(3, { protein });
    await store.createBatch(batch, children);
    const [stored] = await new FirestoreJobStore(db).getBatches([batch.id]); // a cold payload cache
    expect(stored!.protein.structure!.content === protein.structure!.content).toBe(true);
    expect(stored!.protein.msa!.content === protein.msa!.content).toBe(true);
    expect(stored!.protein).toEqual(protein);
    await expectSmallDocument(batch.id);
  });

  it('round-trips them through createJob and getJobs, reusing the chunks of the same content', async () => {
    const job = buildJob({ protein });
    await store.createJob(job);
    const [stored] = await new FirestoreJobStore(db).getJobs([job.id]);
    expect(stored).toEqual(job);
    await expectSmallDocument(job.id);
    // 3 MiB + 2 MiB in chunks of 900 KiB: 4 + 3 chunk documents, once for both records.
    expect((await db.collection(PAYLOADS).count().get()).data().count).toBe(7);
  });
});
