import { AggregateField, type Firestore, type Transaction } from '@google-cloud/firestore';
import { admit, type Admission, type QuotaSubject, type QuotaUsage, type QuotaWindows } from '../../../domain/quota.js';
import { JOBS, STAGED_CHILD } from './job-documents.js';

/**
 * Quota counts with aggregation queries, each over the documents that matter: open jobs
 * (equality filters only, served by merging single-field indexes), jobs since the day began
 * and the GPU time of jobs since the month began (`gpu_ms_counted`, kept on every write), on
 * the composite index (user_id | organization_id, job_type, created_at). Staged children of a
 * batch being submitted count too: a concurrent submission sees the places they take.
 */
export const QUOTA_SUBJECTS = 'quota_subjects';
const COUNTED_TYPES = ['INDIVIDUAL', 'BATCH_CHILD', STAGED_CHILD];

export async function usageOf(
  db: Firestore,
  subject: QuotaSubject,
  windows: QuotaWindows,
  tx?: Transaction,
): Promise<QuotaUsage> {
  const base = db
    .collection(JOBS)
    .where(subject.kind === 'user' ? 'user_id' : 'organization_id', '==', subject.id)
    .where('job_type', 'in', COUNTED_TYPES);
  const open = base.where('status', 'in', ['pending', 'queued', 'running']).count();
  const today = base.where('created_at', '>=', windows.dayStart).count();
  const month = base.where('created_at', '>=', windows.monthStart).aggregate({ gpu: AggregateField.sum('gpu_ms_counted') });
  const [o, t, m] = await Promise.all(tx ? [tx.get(open), tx.get(today), tx.get(month)] : [open.get(), today.get(), month.get()]);
  return { openJobs: o.data().count, jobsToday: t.data().count, gpuMsThisMonth: (m.data() as { gpu: number | null }).gpu ?? 0 };
}

/**
 * Admits a submission inside `tx`: each subject's lock document is read (and written), so two
 * admissions of one subject run one after the other and the second counts the first's jobs;
 * the counts are read in the same transaction. Call before the transaction's writes; it
 * writes the lock documents itself after all its reads.
 */
export async function admitInTransaction(
  tx: Transaction,
  db: Firestore,
  admission: Admission,
  now: Date,
  own?: OwnStaged,
): Promise<void> {
  const locks = admission.subjects.map(({ subject }) => db.collection(QUOTA_SUBJECTS).doc(`${subject.kind}:${subject.id}`));
  if (locks.length > 0) await tx.getAll(...locks);
  const usages = await Promise.all(
    admission.subjects.map(async ({ subject }) =>
      withoutOwn(await usageOf(db, subject, admission.windows, tx), admission.windows, own),
    ),
  );
  admission.subjects.forEach(({ subject, limits }, i) => admit(subject, limits, usages[i]!, admission.demand));
  for (const lock of locks) tx.set(lock, { last_admission_at: now });
}

/** The staged children of the batch being admitted: counted by `usageOf`, but they are its demand. */
export interface OwnStaged {
  jobs: number;
  createdAt: Date;
  gpuMs: number;
}

function withoutOwn(usage: QuotaUsage, windows: QuotaWindows, own: OwnStaged | undefined): QuotaUsage {
  if (!own) return usage;
  return {
    openJobs: usage.openJobs - own.jobs,
    jobsToday: usage.jobsToday - (own.createdAt >= windows.dayStart ? own.jobs : 0),
    gpuMsThisMonth: usage.gpuMsThisMonth - (own.createdAt >= windows.monthStart ? own.gpuMs : 0),
  };
}
