import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../src/adapters/local/sqlite/database.js';
import { SqliteJobStore } from '../../src/adapters/local/sqlite-job-store.js';
import { SqliteWebhookStore } from '../../src/adapters/local/sqlite-webhook-store.js';
import { deliverDueWebhooks, type WebhookDeps } from '../../src/webhooks/dispatcher.js';
import { postWebhook } from '../../src/webhooks/sender.js';
import { checkWebhookUrl, type BlockedResolution } from '../../src/webhooks/url-policy.js';
import { buildBatch, buildResult } from '../../src/ports/testing/records.js';
import { startReceiver, type Receiver } from './receiver.js';

const SECRET = 'whsec_test-secret-of-alice';
const SETTINGS = { maxAttempts: 3, backoffBaseMs: 1, backoffMaxMs: 5, timeoutMs: 2_000, allowPrivate: true };

/**
 * Several api processes on one data directory: each opens its own connection and stores, as
 * `omtx serve` on the same SQLite file would, and sweeps for due webhooks at the same time.
 */
describe('webhook delivery across api processes', () => {
  let dir: string;
  let receiver: Receiver;
  let processes: WebhookDeps[];
  let closers: (() => Promise<void>)[];

  beforeAll(async () => {
    receiver = await startReceiver(() => SECRET);
  });
  afterAll(() => receiver.close());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omtx-webhook-procs-'));
    closers = [];
    processes = [];
    receiver.received.length = 0;
    receiver.answer([]);
  });
  afterEach(async () => {
    for (const close of closers) await close();
    rmSync(dir, { recursive: true, force: true });
  });

  function openProcess(clock: () => Date = () => new Date()): WebhookDeps {
    const db = openSqlite(join(dir, 'omtx.sqlite'));
    const jobs = new SqliteJobStore(db);
    closers.push(() => jobs.close());
    const deps: WebhookDeps = { jobs, webhooks: new SqliteWebhookStore(db), clock, secretFor: () => SECRET, settings: SETTINGS };
    processes.push(deps);
    return deps;
  }

  /** A batch with a webhook to the receiver, finished by `worker` (another process). */
  async function finishedBatch(worker: WebhookDeps, size = 3): Promise<string> {
    const { batch, children } = buildBatch(size, {
      owner: 'alice',
      model: 'VINA',
      webhookUrl: receiver.url,
      createdAt: new Date(),
    });
    await worker.jobs.createBatch(batch, children);
    const now = new Date();
    await worker.jobs.markQueued(
      children.map((c) => c.id),
      now,
    );
    for (const child of children) {
      const claim = await worker.jobs.claim(child.id, now, 60_000);
      if (!claim.claimed) throw new Error(claim.reason);
      await worker.jobs.complete(child.id, claim.attempt, buildResult(), now);
    }
    return batch.id;
  }

  it('POSTs once when three api processes sweep at the same moment', async () => {
    const [a, b, c] = [openProcess(), openProcess(), openProcess()];
    const worker = openProcess();
    const id = await finishedBatch(worker);
    const sent = await Promise.all([a, b, c, a, b, c].map((p) => deliverDueWebhooks(p!)));
    expect(sent.reduce((x, y) => x + y, 0)).toBe(1);
    await receiver.until(1);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]!.signatureValid).toBe(true);
    expect(receiver.received[0]!.json).toMatchObject({ event: 'batch.completed', batch: { id, status: 'COMPLETED' } });
    expect(await Promise.all([a, b, c].map((p) => deliverDueWebhooks(p!)))).toEqual([0, 0, 0]);
  });

  it('delivers after a restart a webhook whose batch ended while no api ran, and resends one whose sender died mid-POST', async () => {
    const worker = openProcess();
    await finishedBatch(worker);
    // An api claims it and dies before it records anything: its lease must run out first.
    const dead = openProcess();
    expect(await dead.webhooks.claimDue(new Date(), 40_000, 10)).toHaveLength(1);
    const restarted = openProcess(() => new Date(Date.now() + 45_000));
    expect(await deliverDueWebhooks(restarted)).toBe(1);
    await receiver.until(1);
    expect(receiver.received[0]!.headers['x-omtx-attempt']).toBe('2');
  });

  it('gives up after the last attempt and logs every one', async () => {
    const api = openProcess();
    const id = await finishedBatch(api, 1);
    receiver.answer([500, 502, 503, 200]);
    for (let i = 0; i < 10; i++) {
      await deliverDueWebhooks(api);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(receiver.received).toHaveLength(3);
    const [log] = await api.webhooks.listAttempts([id]);
    expect(log!.map((a) => [a.attempt, a.outcome, a.responseStatus, a.nextAttemptAt === null])).toEqual([
      [1, 'FAILED', 500, false],
      [2, 'FAILED', 502, false],
      [3, 'FAILED', 503, true],
    ]);
  });
});

describe('the POST itself', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver(() => SECRET);
  });
  afterAll(() => receiver.close());

  it('refuses at connect time a name that resolves to a private address (DNS rebinding after submit)', async () => {
    const url = receiver.url.replace('127.0.0.1', 'localhost');
    const outcome = await postWebhook(
      url,
      '{}',
      { 'content-type': 'application/json' },
      { timeoutMs: 2_000, allowPrivate: false },
    );
    expect(outcome).toMatchObject({ status: null, error: 'host localhost resolves to a private or loopback address' });
    expect(receiver.received).toHaveLength(0);
  });

  it('resolves again at connect time and refuses a name re-pointed at a private address after submit', async () => {
    // The name was public when the batch was submitted; now it answers with the receiver's loopback.
    const rebound = receiver.url.replace('127.0.0.1', 'hooks.example.org');
    let answer = '93.184.215.14';
    const resolve = async () => [{ address: answer, family: 4 }];
    expect(await checkWebhookUrl(rebound, { allowPrivate: false, resolve })).toEqual({ ok: true, url: rebound });
    answer = '127.0.0.1';
    const told: BlockedResolution[] = [];
    const outcome = await postWebhook(
      rebound,
      '{}',
      {},
      { timeoutMs: 2_000, allowPrivate: false, resolve, onBlocked: (b) => told.push(b) },
    );
    expect(outcome).toMatchObject({ status: null, error: 'host hooks.example.org resolves to a private or loopback address' });
    expect(told).toEqual([{ host: 'hooks.example.org', address: '127.0.0.1', when: 'connect' }]);
    expect(receiver.received).toHaveLength(0);
  });

  it('gives up on a receiver that does not answer within the deadline', async () => {
    const { createServer } = await import('node:http');
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const outcome = await postWebhook(`http://127.0.0.1:${port}/`, '{}', {}, { timeoutMs: 200, allowPrivate: true });
      expect(outcome).toMatchObject({ status: null, error: 'no answer within 200 ms' });
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
