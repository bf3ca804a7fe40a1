import { Timestamp, type Firestore } from '@google-cloud/firestore';
import { BATCH_STATUSES, JOB_STATUSES, MODEL_NAMES } from '../../../src/domain/job.js';
import { quotaWindows, unlimited, type Admission, type QuotaSubject, type RetryAdmission } from '../../../src/domain/quota.js';
import type { ApiKeyStore } from '../../../src/ports/api-key-store.js';
import type { ChangeFeed } from '../../../src/ports/change-feed.js';
import type { BatchJobOrderField, JobFilter, JobStore, OrderDirection } from '../../../src/ports/job-store.js';
import type { Page, PageRequest } from '../../../src/ports/page.js';
import type { WebhookStore } from '../../../src/ports/webhook-store.js';
import { T0, at, buildBatch, buildJob, buildResult, newId } from '../../../src/ports/testing/records.js';
import { FirestoreApiKeyStore } from '../../../src/adapters/gcp/firestore-api-key-store.js';
import { FirestoreChangeFeed } from '../../../src/adapters/gcp/firestore-change-feed.js';
import { FirestoreJobStore } from '../../../src/adapters/gcp/firestore-job-store.js';
import { FirestoreWebhookStore } from '../../../src/adapters/gcp/firestore-webhook-store.js';

type Methods<Port, Name extends string> = `${Name}.${Extract<keyof Port, string>}`;
/** Every method of the four ports the Firestore adapters implement. */
export type PortMethod =
  | Methods<JobStore, 'JobStore'>
  | Methods<ChangeFeed, 'ChangeFeed'>
  | Methods<WebhookStore, 'WebhookStore'>
  | Methods<ApiKeyStore, 'ApiKeyStore'>;

/**
 * Whether each port method runs a Firestore query (as the exercise below drives it). tsc
 * refuses this list when a port gains a method, so a new method is classified before it ships;
 * the test fails when a method listed true ran no query, or one listed false ran one.
 */
export const RUNS_QUERIES: Record<PortMethod, boolean> = {
  'JobStore.createJob': true, // quota counts with an admission
  'JobStore.createBatch': true, // quota counts with an admission
  'JobStore.quotaUsage': true,
  'JobStore.markQueued': false,
  'JobStore.claim': true, // the batch's shards, with maxConcurrent
  'JobStore.renewLease': false,
  'JobStore.complete': true, // finalizing the batch sums its shards
  'JobStore.fail': true,
  'JobStore.release': false,
  'JobStore.abandon': true,
  'JobStore.requeueExpired': true,
  'JobStore.listStalePending': true,
  'JobStore.listStaleQueued': true,
  'JobStore.cancelJob': true,
  'JobStore.cancelBatch': true,
  'JobStore.retryFailed': true,
  'JobStore.getJobs': false,
  'JobStore.getBatches': true, // shard sums; a legacy batch counts its children
  'JobStore.listJobs': true,
  'JobStore.listBatches': true,
  'JobStore.listBatchJobs': true,
  'JobStore.batchStats': true,
  'JobStore.countJobsByStatus': true,
  'JobStore.ping': false,
  'JobStore.close': false,
  'ChangeFeed.watchJob': false, // a document listener
  'ChangeFeed.watchBatch': true,
  'ChangeFeed.flush': true,
  'ChangeFeed.close': false,
  'WebhookStore.claimDue': true,
  'WebhookStore.recordAttempt': false,
  'WebhookStore.listAttempts': true,
  'ApiKeyStore.create': false,
  'ApiKeyStore.findByPrefix': false,
  'ApiKeyStore.get': false,
  'ApiKeyStore.listForUser': true,
  'ApiKeyStore.revoke': false,
  'ApiKeyStore.inactive': false,
};

/** Runs `fn` as `method`: the queries it runs are attributed to it. */
export type As = <T>(method: PortMethod, fn: () => Promise<T> | T) => Promise<T>;

/** Every value of the string union `T`, as a list; tsc refuses a list that misses one. */
function everyValue<T extends string>() {
  return <const A extends readonly T[]>(values: A & (Exclude<T, A[number]> extends never ? unknown : never)): A => values;
}
const KINDS = everyValue<NonNullable<JobFilter['kind']>>()(['INDIVIDUAL', 'BATCH_CHILD']);
const ORDER_FIELDS = everyValue<BatchJobOrderField>()(['INDEX', 'AFFINITY', 'CONFIDENCE']);
const DIRECTIONS = everyValue<OrderDirection>()(['ASC', 'DESC']);
/** A filter left out, and each of its values. */
const orAbsent = <T>(values: readonly T[]): (T | undefined)[] => [undefined, ...values];

const OWNER = 'alice';
const ORG = 'lab';
const WINDOWS = quotaWindows(T0);
const SUBJECTS: { subject: QuotaSubject; limits: ReturnType<typeof unlimited> }[] = [
  { subject: { kind: 'user', id: OWNER }, limits: unlimited() },
  { subject: { kind: 'organization', id: ORG }, limits: unlimited() },
];
const RETRY_ADMISSION: RetryAdmission = { windows: WINDOWS, subjects: SUBJECTS };
const admission = (jobs: number, batchSize: number | null): Admission => ({
  ...RETRY_ADMISSION,
  demand: { jobs, newJobs: jobs, batchSize, estimatedGpuMs: 1_000 * jobs },
});
const LEASE_MS = 60_000;
const ERROR = { code: 'BOOM', message: 'the runner crashed', retryable: false };

/** Reads a list every way a client can: whole forward and backward, then from a cursor both ways. */
async function everyPage<T>(read: (page: PageRequest) => Promise<Page<T>>): Promise<void> {
  const all = await read({ first: 100 });
  await read({ last: 100 });
  const [head, tail] = [all.edges[0], all.edges[all.edges.length - 1]];
  if (head && tail) {
    await read({ first: 100, after: head.cursor });
    await read({ last: 100, before: tail.cursor });
  }
}

/**
 * Drives every method of JobStore, ChangeFeed, WebhookStore and ApiKeyStore on `db` through
 * the states that make it query, and every filter and ordering the ports allow (iterating the
 * domain's enums), each call inside `as(method, …)`.
 */
export async function exerciseAdapters(db: Firestore, as: As): Promise<void> {
  const store = new FirestoreJobStore(db);
  const feed = new FirestoreChangeFeed(db, { clockSkewMs: 0 });
  const webhooks = new FirestoreWebhookStore(db);
  const keys = new FirestoreApiKeyStore(db);

  await exerciseApiKeys(keys, as);

  // Individual jobs of both models, one of them in the organization; the last one with no admission.
  const boltz = buildJob({ model: 'BOLTZ2', organizationId: ORG });
  const vina = buildJob({ model: 'VINA' });
  const idle = buildJob({ createdAt: at(1) });
  for (const job of [boltz, vina]) await as('JobStore.createJob', () => store.createJob(job, admission(1, null)));
  await as('JobStore.createJob', () => store.createJob(idle));

  // A batch with a webhook and maxConcurrent 2; a second one left as a crashed createBatch leaves it.
  const { batch, children } = buildBatch(8, {
    maxConcurrent: 2,
    webhookUrl: 'https://hooks.example.org/omtx',
    organizationId: ORG,
  });
  await as('JobStore.createBatch', () => store.createBatch(batch, children, admission(children.length, children.length)));
  const crashed = buildBatch(2, { createdAt: at(2) });
  await as('JobStore.createBatch', () => store.createBatch(crashed.batch, crashed.children));
  await db.collection('jobs').doc(crashed.batch.id).update({ children_state: 'staging' });
  await writeLegacyBatch(db, 'legacy-batch');

  const stopJob = await as('ChangeFeed.watchJob', () => feed.watchJob(boltz.id, () => {}));
  const stopBatch = await as('ChangeFeed.watchBatch', () => feed.watchBatch(batch.id, () => {}));

  const c = children.map((child) => child.id);
  await as('JobStore.markQueued', () => store.markQueued([boltz.id, vina.id, ...c], at(10)));
  const claimed = async (id: string, time: number, leaseMs = LEASE_MS) => {
    const outcome = await as('JobStore.claim', () => store.claim(id, at(time), leaseMs));
    if (!outcome.claimed) throw new Error(`claim of ${id} refused: ${outcome.reason}`);
    return outcome.attempt;
  };
  // Two children run (the batch's limit), complete with and without scores, one fails.
  const a0 = await claimed(c[0]!, 20);
  const a1 = await claimed(c[1]!, 21);
  await as('JobStore.claim', () => store.claim(c[2]!, at(22), LEASE_MS)); // THROTTLED
  await as('JobStore.complete', () => store.complete(c[0]!, a0, buildResult({ affinity: -2.5, confidence: 0.9 }), at(30)));
  await as('JobStore.complete', () => store.complete(c[1]!, a1, buildResult({ affinity: null, confidence: null }), at(31)));
  const a2 = await claimed(c[2]!, 32);
  const a3 = await claimed(c[3]!, 33);
  await as('JobStore.fail', () => store.fail(c[2]!, a2, ERROR, at(40)));
  await as('JobStore.renewLease', () => store.renewLease(c[3]!, a3, at(41), LEASE_MS));
  await as('JobStore.release', () => store.release(c[3]!, a3, { ...ERROR, retryable: true }, at(42)));
  await claimed(c[4]!, 43, 1); // its lease ends at once: requeueExpired takes it back
  await as('JobStore.cancelJob', () => store.cancelJob(OWNER, c[5]!, at(44)));
  await as('JobStore.abandon', () => store.abandon([c[6]!], ERROR, at(45)));
  for (const [job, time] of [
    [boltz, 50],
    [vina, 51],
  ] as const) {
    const attempt = await claimed(job.id, time);
    if (job === boltz) await as('JobStore.complete', () => store.complete(job.id, attempt, buildResult(), at(time + 1)));
    else await as('JobStore.fail', () => store.fail(job.id, attempt, ERROR, at(time + 1)));
  }
  await as('ChangeFeed.flush', () => feed.flush());

  await as('JobStore.requeueExpired', () => store.requeueExpired(at(100_000), 10));
  await as('JobStore.listStalePending', () => store.listStalePending(at(100_000), 10));
  await as('JobStore.listStaleQueued', () => store.listStaleQueued(at(100_000), 10));
  await as('JobStore.getJobs', () => store.getJobs([boltz.id, c[0]!, 'missing']));
  await as('JobStore.getBatches', () => store.getBatches([batch.id, 'legacy-batch', 'missing']));
  await as('JobStore.countJobsByStatus', () => store.countJobsByStatus());
  for (const { subject } of SUBJECTS) await as('JobStore.quotaUsage', () => store.quotaUsage(subject, WINDOWS));
  await as('JobStore.batchStats', () => store.batchStats(batch.id));
  await exerciseLists(store, batch.id, as);

  await as('JobStore.retryFailed', () => store.retryFailed(OWNER, batch.id, at(200), RETRY_ADMISSION));
  // Again without an admission: the retried child fails once more first.
  const again = await claimed(c[2]!, 201);
  await as('JobStore.fail', () => store.fail(c[2]!, again, ERROR, at(202)));
  await as('JobStore.retryFailed', () => store.retryFailed(OWNER, batch.id, at(203)));
  await as('JobStore.cancelBatch', () => store.cancelBatch(OWNER, batch.id, at(300)));
  await as('ChangeFeed.flush', () => feed.flush());
  stopJob();
  stopBatch();

  // The batch ended with a webhook: one delivery to claim, report on, and list.
  const [delivery] = await as('WebhookStore.claimDue', () => webhooks.claimDue(at(400), LEASE_MS, 10));
  if (!delivery) throw new Error('cancelling the batch with a webhook left no delivery to claim');
  await as('WebhookStore.recordAttempt', () =>
    webhooks.recordAttempt(
      {
        deliveryId: delivery.id,
        batchId: batch.id,
        event: delivery.event,
        attempt: delivery.attempt,
        outcome: 'DELIVERED',
        responseStatus: 204,
        error: null,
        at: at(401),
        durationMs: 12,
        nextAttemptAt: null,
      },
      { state: 'delivered' },
    ),
  );
  await as('WebhookStore.listAttempts', () => webhooks.listAttempts([batch.id, 'no-such-batch']));

  await as('JobStore.ping', () => store.ping());
  await as('ChangeFeed.close', () => feed.close());
  await as('JobStore.close', () => store.close());
}

/** listJobs × every JobFilter combination, listBatches × every BatchFilter, listBatchJobs × every filter and order. */
async function exerciseLists(store: JobStore, batchId: string, as: As): Promise<void> {
  for (const kind of orAbsent(KINDS))
    for (const inBatch of orAbsent([batchId]))
      for (const status of orAbsent(JOB_STATUSES))
        for (const model of orAbsent(MODEL_NAMES)) {
          const filter: JobFilter = { kind, batchId: inBatch, status, model };
          await as('JobStore.listJobs', () => everyPage((page) => store.listJobs(OWNER, filter, page)));
        }
  for (const status of orAbsent(BATCH_STATUSES))
    for (const model of orAbsent(MODEL_NAMES)) {
      await as('JobStore.listBatches', () => everyPage((page) => store.listBatches(OWNER, { status, model }, page)));
    }
  for (const status of orAbsent(JOB_STATUSES))
    for (const field of ORDER_FIELDS)
      for (const direction of DIRECTIONS) {
        await as('JobStore.listBatchJobs', () =>
          everyPage((page) => store.listBatchJobs(batchId, { status }, { field, direction }, page)),
        );
      }
}

async function exerciseApiKeys(keys: ApiKeyStore, as: As): Promise<void> {
  const id = newId('key');
  const prefix = `p${id.replace(/\W/g, '').slice(-12)}`;
  const key = {
    id,
    prefix,
    userId: OWNER,
    organizationId: ORG,
    name: 'laptop',
    secretHash: 'scrypt$1$1$1$00$00',
    createdAt: T0,
    revokedAt: null,
  };
  await as('ApiKeyStore.create', () => keys.create(key));
  await as('ApiKeyStore.findByPrefix', () => keys.findByPrefix(prefix));
  await as('ApiKeyStore.get', () => keys.get(id));
  for (const includeRevoked of [true, false]) await as('ApiKeyStore.listForUser', () => keys.listForUser(OWNER, includeRevoked));
  await as('ApiKeyStore.revoke', () => keys.revoke(OWNER, id, at(5)));
  await as('ApiKeyStore.inactive', () => keys.inactive([id, 'gone']));
}

/** A batch as the existing deployment wrote it (no counter shards): its counts come from its children. */
async function writeLegacyBatch(db: Firestore, id: string): Promise<void> {
  const created = Timestamp.fromDate(T0);
  const base = { user_id: OWNER, model: 'boltz2', created_at: created, updated_at: created };
  await db
    .collection('jobs')
    .doc(id)
    .set({
      ...base,
      job_id: id,
      job_type: 'BATCH_PARENT',
      status: 'running',
      batch_name: 'legacy screen',
      input_data: { protein_sequence: 'MENFQKVEKIGEGTYGVVYK', parameters: {} },
    });
  await db
    .collection('jobs')
    .doc(`${id}-0`)
    .set({
      ...base,
      job_id: `${id}-0`,
      job_type: 'BATCH_CHILD',
      status: 'completed',
      batch_parent_id: id,
      batch_index: 0,
      input_data: { protein_sequence: 'MENFQKVEKIGEGTYGVVYK', ligand_smiles: 'CCO', ligand_name: 'ethanol', parameters: {} },
      results: { affinity: -1.5, confidence: 0.7 },
    });
}
