import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeWithArtifact, firstEvent, startSecureServer, type SecureServer } from './support.js';
import { CDK2_SEQUENCE, LIGANDS, ligands, vinaProtein } from '../support/inputs.js';
import { failureLogKey } from '../../src/domain/artifact-keys.js';
import {
  BatchProgressDocument,
  CancelBatchDocument,
  CancelJobDocument,
  JobUpdatedDocument,
  RetryFailedJobsDocument,
  SecurityBatchDocument,
  SecurityJobDocument,
  SecurityListsDocument,
  SecurityNodeDocument,
  SecuritySubmitBatchDocument,
  SecuritySubmitPredictionDocument,
} from '../../schema/__generated__/graphql.js';

type Errors = { message: string; extensions?: Record<string, unknown> }[] | undefined;
const codeOf = (errors: Errors) => errors?.[0]?.extensions?.code;

describe('tenant isolation and organization sharing', () => {
  let server: SecureServer;
  /** alice and bob are in lab-a; carol is in lab-b. */
  const as = { alice: '', bob: '', carol: '' };
  const ids = { privateJob: '', sharedJob: '', privateBatch: '', sharedBatch: '', privateChild: '', sharedChild: '' };
  let allIds: string[];

  async function submitJob(shareWithOrganization: boolean) {
    const answer = await server.request(
      SecuritySubmitPredictionDocument,
      { input: { model: 'VINA', protein: vinaProtein(), ligand: LIGANDS[1]!, shareWithOrganization } },
      as.alice,
    );
    expect(answer.errors).toBeUndefined();
    return answer.data!.submitPrediction.job;
  }

  async function submitBatch(shareWithOrganization: boolean) {
    const answer = await server.request(
      SecuritySubmitBatchDocument,
      { input: { model: 'VINA', name: 'screen', protein: vinaProtein(), ligands: ligands(2), shareWithOrganization } },
      as.alice,
    );
    expect(answer.errors).toBeUndefined();
    const batchId = answer.data!.submitBatch.batch.id;
    const page = await server.app.jobs.listBatchJobs(batchId, {}, { field: 'INDEX', direction: 'ASC' }, { first: 10 });
    const [done, failed] = page.edges.map((e) => e.node);
    await completeWithArtifact(server.app, done!, `REMARK ${batchId} child 0\nEND\n`);
    // The other child fails, with the model's log kept: retryFailedJobs has something to retry.
    const claim = await server.app.jobs.claim(failed!.id, new Date(), 60_000);
    if (!claim.claimed) throw new Error('not claimed');
    await server.app.jobs.fail(failed!.id, claim.attempt, { code: 'BAD_INPUT', message: 'no', retryable: false }, new Date());
    await server.app.blobs.put(failureLogKey(failed!), 'vina said no\n', 'text/plain');
    return { batchId, failedChild: failed!.id };
  }

  beforeAll(async () => {
    // A webhook URL on this machine (never called back in these tests' time).
    server = await startSecureServer({ OMTX_AUTH_REQUIRED: 'true', OMTX_WEBHOOK_ALLOW_PRIVATE: 'true' });
    as.alice = (await server.keyFor('alice', 'lab-a')).authorization;
    as.bob = (await server.keyFor('bob', 'lab-a')).authorization;
    as.carol = (await server.keyFor('carol', 'lab-b')).authorization;

    const privateJob = await submitJob(false);
    const sharedJob = await submitJob(true);
    expect([privateJob.sharedWithOrganization, sharedJob.sharedWithOrganization]).toEqual([false, true]);
    ids.privateJob = privateJob.id;
    ids.sharedJob = sharedJob.id;
    await completeWithArtifact(server.app, { id: ids.privateJob, batchId: null }, 'REMARK private\nEND\n');
    await completeWithArtifact(server.app, { id: ids.sharedJob, batchId: null }, 'REMARK shared\nEND\n');
    ({ batchId: ids.privateBatch, failedChild: ids.privateChild } = await submitBatch(false));
    ({ batchId: ids.sharedBatch, failedChild: ids.sharedChild } = await submitBatch(true));
    allIds = Object.values(ids);
  });
  afterAll(async () => server.close());

  it('lets the owner read everything, with working artifact URLs and the failure log', async () => {
    for (const id of [ids.privateJob, ids.sharedJob]) {
      const job = (await server.request(SecurityJobDocument, { id }, as.alice)).data!.job!;
      expect(job).toMatchObject({ id, status: 'COMPLETED', viewerIsOwner: true });
      const response = await fetch(job.result!.artifacts[0]!.url);
      expect(response.status).toBe(200);
    }
    const failed = (await server.request(SecurityJobDocument, { id: ids.privateChild }, as.alice)).data!.job!;
    expect(await (await fetch(failed.failureLog!.url)).text()).toBe('vina said no\n');
    const batch = (await server.request(SecurityBatchDocument, { id: ids.privateBatch }, as.alice)).data!.batch!;
    expect(batch.jobs.edges).toHaveLength(2);
    expect((await fetch(batch.export!.url)).status).toBe(200);
  });

  describe('another organization (carol)', () => {
    it('gets null for every job, batch, child and node of alice, exactly as for an id that does not exist', async () => {
      for (const id of [...allIds, 'no-such-id']) {
        const job = await server.request(SecurityJobDocument, { id }, as.carol);
        const batch = await server.request(SecurityBatchDocument, { id }, as.carol);
        const node = await server.request(SecurityNodeDocument, { id }, as.carol);
        expect([job.data?.job, batch.data?.batch, node.data?.node]).toEqual([null, null, null]);
        expect([job.errors, batch.errors, node.errors]).toEqual([undefined, undefined, undefined]);
      }
    });

    it('sees none of them in any list, whatever the filter', async () => {
      for (const batchId of [ids.privateBatch, ids.sharedBatch]) {
        const lists = (await server.request(SecurityListsDocument, { batchId }, as.carol)).data!;
        const listed = [lists.jobs, lists.children, lists.allChildren, lists.batches].flatMap((c) =>
          c.edges.map((e) => e.node.id),
        );
        expect(listed).toEqual([]);
      }
    });

    it('cannot cancel or retry them: NOT_FOUND with the message an unknown id gets, and nothing changes', async () => {
      const attempts = [
        ...[ids.privateJob, ids.sharedJob, ids.privateChild].map((id) => server.request(CancelJobDocument, { id }, as.carol)),
        ...[ids.privateBatch, ids.sharedBatch].map((id) => server.request(CancelBatchDocument, { id }, as.carol)),
        ...[ids.privateBatch, ids.sharedBatch].map((batchId) => server.request(RetryFailedJobsDocument, { batchId }, as.carol)),
      ];
      const unknownJob = await server.request(CancelJobDocument, { id: 'no-such-id' }, as.carol);
      const unknownBatch = await server.request(CancelBatchDocument, { id: 'no-such-id' }, as.carol);
      for (const [i, answer] of (await Promise.all(attempts)).entries()) {
        expect(codeOf(answer.errors)).toBe('NOT_FOUND');
        const unknown = i < 3 ? unknownJob : unknownBatch;
        const id = /(\S+) not found/.exec(answer.errors![0]!.message)![1]!;
        expect(answer.errors![0]!.message.replace(id, 'X')).toBe(unknown.errors![0]!.message.replace('no-such-id', 'X'));
      }
      const [child] = await server.app.jobs.getJobs([ids.privateChild]);
      expect(child!.status).toBe('FAILED');
      const batches = await server.app.jobs.getBatches([ids.privateBatch, ids.sharedBatch]);
      expect(batches.map((b) => b!.cancelRequested)).toEqual([false, false]);
    });

    it('cannot subscribe to them: NOT_FOUND', async () => {
      const socket = server.socket(as.carol);
      await socket.connected;
      for (const id of [ids.privateJob, ids.sharedJob, ids.privateChild]) {
        const event = await firstEvent(socket.client, print(JobUpdatedDocument), { id });
        expect(codeOf(event.error as Errors)).toBe('NOT_FOUND');
      }
      for (const id of [ids.privateBatch, ids.sharedBatch]) {
        const event = await firstEvent(socket.client, print(BatchProgressDocument), { id });
        expect(codeOf(event.error as Errors)).toBe('NOT_FOUND');
      }
    });
  });

  describe('another organization (carol) over graphql-ws: queries and mutations, not only subscriptions', () => {
    it('reads null for every record of alice, and cannot cancel or retry them', async () => {
      const socket = server.socket(as.carol);
      await socket.connected;
      for (const id of allIds) {
        const job = await firstEvent<{ job: unknown }>(socket.client, print(SecurityJobDocument), { id });
        const batch = await firstEvent<{ batch: unknown }>(socket.client, print(SecurityBatchDocument), { id });
        const node = await firstEvent<{ node: unknown }>(socket.client, print(SecurityNodeDocument), { id });
        expect([job, batch, node]).toEqual([{ data: { job: null } }, { data: { batch: null } }, { data: { node: null } }]);
      }
      for (const id of [ids.sharedJob, ids.privateChild]) {
        const cancel = await firstEvent(socket.client, print(CancelJobDocument), { id });
        expect(codeOf(cancel.error as Errors)).toBe('NOT_FOUND');
      }
      for (const id of [ids.privateBatch, ids.sharedBatch]) {
        expect(codeOf((await firstEvent(socket.client, print(CancelBatchDocument), { id })).error as Errors)).toBe('NOT_FOUND');
        const retry = await firstEvent(socket.client, print(RetryFailedJobsDocument), { batchId: id });
        expect(codeOf(retry.error as Errors)).toBe('NOT_FOUND');
      }
      const batches = await server.app.jobs.getBatches([ids.privateBatch, ids.sharedBatch]);
      expect(batches.map((b) => b!.cancelRequested)).toEqual([false, false]);
      expect((await server.app.jobs.getJobs([ids.privateChild]))[0]!.status).toBe('FAILED');
    });
  });

  describe('a member of the organization (bob)', () => {
    it("reads a shared batch's MSA, but not its webhook URL nor its deliveries (the owner's only)", async () => {
      const upload = `>query\n${CDK2_SEQUENCE}\n>homolog\n${CDK2_SEQUENCE.replace(/^MENF/, '--NF')}\n`;
      const submitted = await server.request(
        `mutation ($input: SubmitBatchInput!) { submitBatch(input: $input) { batch { id } } }`,
        {
          input: {
            model: 'BOLTZ2',
            name: 'shared boltz',
            protein: { name: 'CDK2', sequence: CDK2_SEQUENCE, msa: { format: 'A3M', content: upload } },
            ligands: ligands(1),
            shareWithOrganization: true,
            webhookUrl: 'http://127.0.0.1:9/omtx-hook',
          },
        },
        as.alice,
      );
      expect(submitted.errors).toBeUndefined();
      const batchId = (submitted.data as { submitBatch: { batch: { id: string } } }).submitBatch.batch.id;
      const query = `query ($id: ID!) { batch(id: $id) { id webhookUrl webhookDeliveries { deliveryId } msa { name url }
        jobs(first: 1) { nodes { msa { name } } } } }`;
      type Shape = {
        batch: {
          webhookUrl: string | null;
          webhookDeliveries: unknown[];
          msa: { name: string; url: string } | null;
          jobs: { nodes: { msa: { name: string } | null }[] };
        } | null;
      };
      const owner = (await server.request(query, { id: batchId }, as.alice)).data as Shape;
      expect(owner.batch!.webhookUrl).toBe('http://127.0.0.1:9/omtx-hook');

      const member = await server.request(query, { id: batchId }, as.bob);
      expect(member.errors).toBeUndefined();
      const seen = (member.data as Shape).batch!;
      expect(seen.webhookUrl).toBeNull();
      expect(seen.webhookDeliveries).toEqual([]);
      expect(seen.msa?.name).toBe('A.a3m');
      expect(await (await fetch(seen.msa!.url)).text()).toBe(upload);
      expect(seen.jobs.nodes[0]!.msa?.name).toBe('A.a3m');
      expect(JSON.stringify(member)).not.toContain('omtx-hook');

      const stranger = (await server.request(query, { id: batchId }, as.carol)).data as Shape;
      expect(stranger.batch).toBeNull();
    });

    it('reads what alice shared (job, batch, children, node, artifacts) but not what she kept private', async () => {
      const shared = (await server.request(SecurityJobDocument, { id: ids.sharedJob }, as.bob)).data!.job!;
      expect(shared).toMatchObject({ sharedWithOrganization: true, viewerIsOwner: false, status: 'COMPLETED' });
      expect(await (await fetch(shared.result!.artifacts[0]!.url)).text()).toBe('REMARK shared\nEND\n');
      const batch = (await server.request(SecurityBatchDocument, { id: ids.sharedBatch }, as.bob)).data!.batch!;
      expect(batch.jobs.edges).toHaveLength(2);
      expect(batch.summary.top).toHaveLength(1);
      expect((await fetch(batch.export!.url)).status).toBe(200);
      const child = (await server.request(SecurityJobDocument, { id: ids.sharedChild }, as.bob)).data!.job!;
      expect(child).toMatchObject({ batch: { id: ids.sharedBatch }, protein: { name: '1IEP' } });
      expect(child.failureLog?.url).toBeTruthy();
      expect((await server.request(SecurityNodeDocument, { id: ids.sharedBatch }, as.bob)).data!.node?.__typename).toBe('Batch');

      for (const id of [ids.privateJob, ids.privateBatch, ids.privateChild]) {
        expect((await server.request(SecurityNodeDocument, { id }, as.bob)).data!.node).toBeNull();
        expect((await server.request(SecurityJobDocument, { id }, as.bob)).data!.job).toBeNull();
      }
    });

    it('subscribes to what was shared, and not to the rest', async () => {
      const socket = server.socket(as.bob);
      await socket.connected;
      const job = await firstEvent<{ jobUpdated: { id: string; status: string } }>(socket.client, print(JobUpdatedDocument), {
        id: ids.sharedJob,
      });
      expect(job.data?.jobUpdated).toMatchObject({ id: ids.sharedJob, status: 'COMPLETED' });
      const batch = await firstEvent<{ batchProgress: { batch: { id: string } } }>(socket.client, print(BatchProgressDocument), {
        id: ids.sharedBatch,
      });
      expect(batch.data?.batchProgress.batch.id).toBe(ids.sharedBatch);
      const hidden = await firstEvent(socket.client, print(JobUpdatedDocument), { id: ids.privateJob });
      expect(codeOf(hidden.error as Errors)).toBe('NOT_FOUND');
    });

    it('cannot cancel or retry a shared record (FORBIDDEN), nor a private one (NOT_FOUND)', async () => {
      expect(codeOf((await server.request(CancelJobDocument, { id: ids.sharedJob }, as.bob)).errors)).toBe('FORBIDDEN');
      expect(codeOf((await server.request(CancelJobDocument, { id: ids.sharedChild }, as.bob)).errors)).toBe('FORBIDDEN');
      expect(codeOf((await server.request(CancelBatchDocument, { id: ids.sharedBatch }, as.bob)).errors)).toBe('FORBIDDEN');
      expect(codeOf((await server.request(RetryFailedJobsDocument, { batchId: ids.sharedBatch }, as.bob)).errors)).toBe(
        'FORBIDDEN',
      );
      expect(codeOf((await server.request(CancelJobDocument, { id: ids.privateJob }, as.bob)).errors)).toBe('NOT_FOUND');
      expect(codeOf((await server.request(CancelBatchDocument, { id: ids.privateBatch }, as.bob)).errors)).toBe('NOT_FOUND');
      const [batch] = await server.app.jobs.getBatches([ids.sharedBatch]);
      expect(batch!.cancelRequested).toBe(false);
      expect((await server.app.jobs.getJobs([ids.sharedChild]))[0]!.status).toBe('FAILED');
    });

    it('lists only their own records: shared ones are reached by id or through their batch', async () => {
      const lists = (await server.request(SecurityListsDocument, { batchId: ids.sharedBatch }, as.bob)).data!;
      const listed = [lists.jobs, lists.children, lists.allChildren, lists.batches].flatMap((c) => c.edges.map((e) => e.node.id));
      expect(listed).toEqual([]);
    });
  });

  it('lets the owner retry and cancel her shared batch', async () => {
    const retried = await server.request(RetryFailedJobsDocument, { batchId: ids.sharedBatch }, as.alice);
    expect(retried.errors).toBeUndefined();
    const cancelled = await server.request(CancelBatchDocument, { id: ids.sharedBatch }, as.alice);
    expect(cancelled.data?.cancelBatch.status).toBe('CANCELLED');
  });

  it('refuses shareWithOrganization from a viewer without an organization, and stores nothing', async () => {
    const loner = (await server.keyFor('erin', null)).authorization;
    const answer = await server.request(
      SecuritySubmitPredictionDocument,
      { input: { model: 'VINA', protein: vinaProtein(), ligand: LIGANDS[1]!, shareWithOrganization: true } },
      loner,
    );
    expect(codeOf(answer.errors)).toBe('BAD_USER_INPUT');
    expect((await server.app.jobs.listJobs('erin', {}, { first: 10 })).edges).toEqual([]);
  });

  describe('signed artifact URLs', () => {
    async function urlsOf(id: string) {
      const job = (await server.request(SecurityJobDocument, { id }, as.alice)).data!.job!;
      return new URL(job.result!.artifacts[0]!.url);
    }

    it("answers 403 when a valid link's path is changed to reach another key", async () => {
      const mine = await urlsOf(ids.sharedJob);
      const other = await urlsOf(ids.privateJob);
      expect((await fetch(mine)).status).toBe(200);
      const altered = new URL(mine);
      altered.pathname = other.pathname;
      expect((await fetch(altered)).status).toBe(403);
      // Tricks on the path: a sibling file, traversal (plain and percent-encoded), a trailing slash.
      const otherJob = other.pathname.split('/').at(-2)!;
      for (const path of [
        mine.pathname.replace('complex.pdb', 'results.json'),
        mine.pathname.replace('complex.pdb', `../${otherJob}/complex.pdb`),
        mine.pathname.replace('complex.pdb', `%2E%2E/${otherJob}/complex.pdb`),
        mine.pathname.replace('complex.pdb', `..%2F${otherJob}%2Fcomplex.pdb`),
        `${mine.pathname}/`,
      ]) {
        const tricked = new URL(mine);
        tricked.pathname = path;
        expect([403, 400]).toContain((await fetch(tricked, { redirect: 'manual' })).status);
      }
    });

    it('answers 403 when the expiry or the signature is changed, and 410 once a genuine link expired', async () => {
      const mine = await urlsOf(ids.sharedJob);
      const later = new URL(mine);
      later.searchParams.set('expires', String(Number(mine.searchParams.get('expires')) + 3600));
      expect((await fetch(later)).status).toBe(403);
      const forged = new URL(mine);
      forged.searchParams.set('signature', 'f'.repeat(64));
      expect((await fetch(forged)).status).toBe(403);
      const unsigned = new URL(mine);
      unsigned.search = '';
      expect((await fetch(unsigned)).status).toBe(403);
      const key = decodeURIComponent(mine.pathname.replace(/^\/artifacts\//, ''));
      const expired = new URL(await server.app.blobs.signedUrl(key, new Date(Date.now() - 5_000)));
      expect((await fetch(expired)).status).toBe(410);
    });
  });
});
