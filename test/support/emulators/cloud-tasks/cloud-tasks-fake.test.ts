import { afterEach, describe, expect, it } from 'vitest';
import { cloudTasksClientFrom } from '../../../../src/adapters/gcp/cloud-tasks-queue.js';
import { CONTRACT_QUEUE_SETTINGS, startTaskReceiver, waitUntil, type Reply } from '../../../../src/ports/task-queue.contract.js';
import { startCloudTasksFake, type CloudTasksFakeOptions } from '../cloud-tasks-fake.js';
import { deployQueueSettings } from './deploy-queue-settings.js';

const parent = CONTRACT_QUEUE_SETTINGS.queueName;

/** Everything a test opened, closed after it in reverse order. */
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(options: Partial<CloudTasksFakeOptions> = {}) {
  const fake = await startCloudTasksFake({ queues: [CONTRACT_QUEUE_SETTINGS], ...options });
  cleanups.push(() => fake.stop());
  const receiver = await startTaskReceiver();
  cleanups.push(() => receiver.close());
  const client = cloudTasksClientFrom('contract', {
    location: 'local',
    queue: 'omtx-contract',
    serviceAccountEmail: null,
    audience: null,
    dispatchDeadlineSeconds: 60,
    emulatorHost: fake.host,
  });
  cleanups.push(() => client.close());
  const httpRequest = (body = '{}') => ({ url: receiver.url, httpMethod: 'POST' as const, body: Buffer.from(body) });
  return { fake, receiver, client, httpRequest };
}

/** The gRPC status code a call failed with. */
const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'no error',
    (error: { code?: number }) => error.code,
  );

describe('the Cloud Tasks fake', () => {
  it('retries an attempt that outlasts the dispatch deadline, as no execution', async () => {
    const { fake, receiver, client, httpRequest } = await setUp({ dispatchDeadlineOverrideMs: 100 });
    receiver.respond((d) => (d.retryCount === 0 ? new Promise<Reply>(() => {}) : 200));
    await client.createTask({ parent, task: { httpRequest: httpRequest() } });

    const [, retry] = await receiver.waitForDeliveries(2);
    expect(retry!.retryCount).toBe(1);
    expect(retry!.executionCount).toBe(0);
    expect(fake.attempts[0]!.outcome).toEqual({ answered: false, error: 'no answer within the dispatch deadline of 100 ms' });
  });

  it('refuses dispatch deadlines outside 15 s – 30 min and tasks over 100 KB with INVALID_ARGUMENT', async () => {
    const { client, httpRequest } = await setUp();
    const create = (task: object) => codeOf(client.createTask({ parent, task }));
    expect(await create({ httpRequest: httpRequest(), dispatchDeadline: { seconds: 14 } })).toBe(3);
    expect(await create({ httpRequest: httpRequest(), dispatchDeadline: { seconds: 1801 } })).toBe(3);
    expect(await create({ httpRequest: httpRequest('x'.repeat(100 * 1024 + 1)) })).toBe(3);
    expect(await create({ name: `${parent}/tasks/has.dot`, httpRequest: httpRequest() })).toBe(3);
    expect(await create({ httpRequest: httpRequest(), dispatchDeadline: { seconds: 15 } })).toBe('no error');
  });

  it('names a task it was given without one', async () => {
    const { client, httpRequest } = await setUp();
    const [task] = await client.createTask({
      parent,
      task: { httpRequest: httpRequest(), scheduleTime: { seconds: Math.floor(Date.now() / 1000) + 3600 } },
    });
    expect(task.name).toMatch(new RegExp(`^${parent}/tasks/\\d{20}$`));
    const [fetched] = await client.getTask({ name: task.name! });
    expect(fetched.name).toBe(task.name);
  });

  it('deletes a task and keeps its name taken', async () => {
    const { client, httpRequest } = await setUp();
    const name = `${parent}/tasks/deleted`;
    const later = { seconds: Math.floor(Date.now() / 1000) + 3600 };
    await client.createTask({ parent, task: { name, httpRequest: httpRequest(), scheduleTime: later } });
    await client.deleteTask({ name });
    expect(await codeOf(client.getTask({ name }))).toBe(5);
    expect(await codeOf(client.deleteTask({ name }))).toBe(5);
    expect(await codeOf(client.createTask({ parent, task: { name, httpRequest: httpRequest() } }))).toBe(6);
  });

  it('frees a finished task’s name after nameRetentionMs', async () => {
    const { receiver, client, httpRequest } = await setUp({ nameRetentionMs: 50 });
    const task = { name: `${parent}/tasks/reused`, httpRequest: httpRequest() };
    await client.createTask({ parent, task });
    await receiver.waitForDeliveries(1);
    await waitUntil(async () => (await codeOf(client.createTask({ parent, task }))) === 'no error', 'the name is free again');
    await receiver.waitForDeliveries(2);
  });

  it('reports the queue’s settings through GetQueue', async () => {
    const { client } = await setUp();
    const [queue] = await client.getQueue({ name: parent });
    expect(queue.rateLimits?.maxConcurrentDispatches).toBe(CONTRACT_QUEUE_SETTINGS.maxConcurrentDispatches);
    expect(queue.retryConfig?.maxAttempts).toBe(CONTRACT_QUEUE_SETTINGS.maxAttempts);
    expect(queue.retryConfig?.minBackoff?.nanos).toBe(CONTRACT_QUEUE_SETTINGS.minBackoffMs * 1e6);
  });

  it('runs a queue with the settings deploy/ gives the real one', async () => {
    const deployed = deployQueueSettings('omtx-prod', 'europe-west4');
    const { client } = await setUp({ queues: [deployed] });
    const [queue] = await client.getQueue({ name: deployed.queueName });
    expect(queue.rateLimits).toMatchObject({
      maxDispatchesPerSecond: deployed.maxDispatchesPerSecond,
      maxConcurrentDispatches: deployed.maxConcurrentDispatches,
    });
    expect(queue.retryConfig).toMatchObject({ maxAttempts: deployed.maxAttempts, maxDoublings: deployed.maxDoublings });
    expect(Number(queue.retryConfig?.minBackoff?.seconds) * 1000).toBe(deployed.minBackoffMs);
    expect(Number(queue.retryConfig?.maxBackoff?.seconds) * 1000).toBe(deployed.maxBackoffMs);
  });

  it('spaces dispatches by maxDispatchesPerSecond', async () => {
    const { receiver, client, httpRequest } = await setUp({
      queues: [{ ...CONTRACT_QUEUE_SETTINGS, maxConcurrentDispatches: 10, maxDispatchesPerSecond: 20 }],
    });
    await Promise.all([1, 2, 3, 4, 5].map(() => client.createTask({ parent, task: { httpRequest: httpRequest() } })));
    const deliveries = await receiver.waitForDeliveries(5);
    // 20/s is one every 50 ms; a few ms of slack for the HTTP hop.
    expect(deliveries[4]!.receivedAtMs - deliveries[0]!.receivedAtMs).toBeGreaterThanOrEqual(4 * 50 - 10);
  });
});
