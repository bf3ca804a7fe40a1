import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import {
  startCloudTasksFake,
  type CloudTasksFake,
  type CloudTasksFakeOptions,
} from '../../../test/support/emulators/cloud-tasks-fake.js';
import {
  CONTRACT_QUEUE_SETTINGS,
  describeTaskQueueContract,
  startTaskReceiver,
  waitUntil,
  type Delivery,
  type TaskReceiver,
} from '../../ports/task-queue.contract.js';
import type { TaskPayload } from '../../ports/task-queue.js';
import {
  cloudTaskId,
  cloudTasksClientFrom,
  cloudTasksQueueFrom,
  CloudTasksQueue,
  TASK_NAME_HEADER,
  type CloudTasksQueueOptions,
} from './cloud-tasks-queue.js';
import type { TasksConfig } from './gcp-config.js';

// `projects/contract/locations/local/queues/omtx-contract`, the contract's queue.
const [, PROJECT, , LOCATION, , QUEUE] = CONTRACT_QUEUE_SETTINGS.queueName.split('/') as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const SERVICE_ACCOUNT = 'omtx-tasks@omtx-prod.iam.gserviceaccount.com';

/**
 * The contract names tasks by the caller's name; Cloud Tasks delivers the hashed id in
 * X-CloudTasks-TaskName and the caller's name in TASK_NAME_HEADER. This view of the receiver
 * maps each delivery back to the caller's name, after checking the id is that name's hash.
 */
function byCallerName(inner: TaskReceiver): TaskReceiver {
  const translate = (delivery: Delivery): Delivery => {
    const caller = String(delivery.headers[TASK_NAME_HEADER.toLowerCase()] ?? '');
    if (delivery.taskName !== cloudTaskId(caller)) {
      throw new Error(`delivered task id ${delivery.taskName} is not the hash of ${TASK_NAME_HEADER} ${JSON.stringify(caller)}`);
    }
    return { ...delivery, taskName: caller };
  };
  return {
    url: inner.url,
    get deliveries() {
      return inner.deliveries.map(translate);
    },
    get inFlight() {
      return inner.inFlight;
    },
    get maxInFlight() {
      return inner.maxInFlight;
    },
    respond: (responder) => inner.respond((delivery) => responder(translate(delivery))),
    waitForDeliveries: async (count, taskName) =>
      (await inner.waitForDeliveries(count, taskName === undefined ? undefined : cloudTaskId(taskName))).map(translate),
    close: () => inner.close(),
  };
}

function tasksConfig(fake: CloudTasksFake, overrides: Partial<TasksConfig> = {}): TasksConfig {
  return {
    location: LOCATION,
    queue: QUEUE,
    serviceAccountEmail: null,
    audience: null,
    dispatchDeadlineSeconds: 60,
    emulatorHost: fake.host,
    ...overrides,
  };
}

describeTaskQueueContract('CloudTasksQueue on the Cloud Tasks fake', async () => {
  const fake = await startCloudTasksFake({ queues: [CONTRACT_QUEUE_SETTINGS] });
  const receiver = await startTaskReceiver();
  // Built as the api builds it, from TasksConfig with OMTX_TASKS_EMULATOR_HOST set.
  const queue = cloudTasksQueueFrom(PROJECT, tasksConfig(fake, { serviceAccountEmail: SERVICE_ACCOUNT }), receiver.url);
  return {
    queue,
    receiver: byCallerName(receiver),
    settings: CONTRACT_QUEUE_SETTINGS,
    cleanup: async () => {
      await queue.close();
      await receiver.close();
      await fake.stop();
    },
  };
});

/** Everything a test opened, closed after it in reverse order. */
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(fakeOptions: Partial<CloudTasksFakeOptions> = {}, queueOptions: Partial<CloudTasksQueueOptions> = {}) {
  const fake = await startCloudTasksFake({ queues: [CONTRACT_QUEUE_SETTINGS], ...fakeOptions });
  cleanups.push(() => fake.stop());
  const receiver = await startTaskReceiver();
  cleanups.push(() => receiver.close());
  const client = cloudTasksClientFrom(PROJECT, tasksConfig(fake));
  const queue = new CloudTasksQueue({
    client,
    project: PROJECT,
    location: LOCATION,
    queue: QUEUE,
    targetUrl: receiver.url,
    serviceAccountEmail: SERVICE_ACCOUNT,
    ...queueOptions,
  });
  cleanups.push(() => queue.close());
  return { fake, receiver, client, queue };
}

const payload = (...jobIds: string[]): TaskPayload => ({ jobIds, batchId: null });
const taskPath = (name: string) => `${CONTRACT_QUEUE_SETTINGS.queueName}/tasks/${cloudTaskId(name)}`;

describe('CloudTasksQueue', () => {
  it('lets a duplicate delivery reach the worker twice, beside the first attempt', async () => {
    const { receiver, queue } = await setUp({ deliverEveryTaskTwice: true });
    await queue.enqueue([{ name: 'twice', payload: payload('j1') }]);

    const [first, second] = await receiver.waitForDeliveries(2);
    expect(second!.taskName).toBe(first!.taskName);
    expect(second!.body).toEqual(payload('j1'));
    expect([first!.retryCount, second!.retryCount]).toEqual([0, 0]);
    await waitUntil(async () => (await queue.depth()) === 0, 'the task ended');
  });

  it('lets a duplicate delivery reach the worker again after the task succeeded', async () => {
    const { fake, receiver, queue } = await setUp();
    // Scheduled a moment ahead, so the fake can be told before the first attempt.
    await queue.enqueue([{ name: 'again', payload: payload('j2'), scheduleAt: new Date(Date.now() + 200) }]);
    expect(fake.deliverTwice(cloudTaskId('again'), 'after')).toBe(true);

    const deliveries = await receiver.waitForDeliveries(2);
    expect(deliveries.map((d) => d.taskName)).toEqual([cloudTaskId('again'), cloudTaskId('again')]);
    expect(deliveries[1]!.receivedAtMs).toBeGreaterThanOrEqual(deliveries[0]!.receivedAtMs);
  });

  it('sends an OIDC token for the service account, with the worker origin as audience by default', async () => {
    const { receiver, queue } = await setUp();
    await queue.enqueue([{ name: 'signed', payload: payload('s') }]);

    const [delivery] = await receiver.waitForDeliveries(1);
    const authorization = String(delivery!.headers.authorization);
    expect(authorization).toMatch(/^Bearer /);
    const claims = decodeJwt(authorization.slice('Bearer '.length));
    expect(claims.aud).toBe(new URL(receiver.url).origin);
    expect(claims.email).toBe(SERVICE_ACCOUNT);
  });

  it('sends the configured audience, and no token without a service account', async () => {
    const audience = 'https://omtx-worker-abc123-ez.a.run.app';
    const withAudience = await setUp({}, { audience });
    await withAudience.queue.enqueue([{ name: 'aud', payload: payload('a') }]);
    const [signed] = await withAudience.receiver.waitForDeliveries(1);
    expect(decodeJwt(String(signed!.headers.authorization).slice('Bearer '.length)).aud).toBe(audience);

    const unsigned = await setUp({}, { serviceAccountEmail: null });
    await unsigned.queue.enqueue([{ name: 'plain', payload: payload('p') }]);
    const [plain] = await unsigned.receiver.waitForDeliveries(1);
    expect(plain!.headers.authorization).toBeUndefined();
  });

  it('refuses a body over 100 KB before any RPC', async () => {
    const { fake, queue } = await setUp();
    const huge = payload(...Array.from({ length: 5_000 }, (_, i) => `job-${String(i).padStart(20, '0')}`));
    await expect(queue.enqueue([{ name: 'huge', payload: huge }])).rejects.toThrow(/100 KB/);
    expect(fake.calls).toEqual([]);
  });

  it('names tasks by a stable hash of the caller’s name, which it sends in a header', async () => {
    const { receiver, client, queue } = await setUp();
    expect(cloudTaskId('job-readable-1')).toMatch(/^[0-9a-f]{32}$/);
    expect(cloudTaskId('job-readable-1')).toBe(cloudTaskId('job-readable-1'));
    expect(cloudTaskId('job-readable-2')).not.toBe(cloudTaskId('job-readable-1'));

    await queue.enqueue([{ name: 'job-readable-1', payload: payload('r'), scheduleAt: new Date(Date.now() + 3_600_000) }]);
    const [listed] = await client.listTasks({ parent: CONTRACT_QUEUE_SETTINGS.queueName });
    expect(listed.map((t) => t.name)).toEqual([taskPath('job-readable-1')]);
    const [task] = await client.getTask({ name: taskPath('job-readable-1'), responseView: 'FULL' });
    expect(task.httpRequest?.headers?.[TASK_NAME_HEADER]).toBe('job-readable-1');
    expect(task.dispatchDeadline?.seconds).toBe('1800');

    await queue.enqueue([{ name: 'job-readable-2', payload: payload('r2') }]);
    const [delivery] = await receiver.waitForDeliveries(1);
    expect(delivery!.taskName).toBe(cloudTaskId('job-readable-2'));
    expect(delivery!.headers[TASK_NAME_HEADER.toLowerCase()]).toBe('job-readable-2');
  });

  it('creates many tasks with bounded concurrency, each once', async () => {
    const { fake, queue } = await setUp({}, { createConcurrency: 4 });
    const tasks = Array.from({ length: 200 }, (_, i) => ({
      name: `shard-${i}`,
      payload: payload(`j${i}`),
      scheduleAt: new Date(Date.now() + 3_600_000),
    }));
    expect((await queue.enqueue(tasks)).every((o) => o.status === 'CREATED')).toBe(true);
    expect((await queue.enqueue(tasks)).every((o) => o.status === 'DUPLICATE')).toBe(true);
    expect(await queue.depth()).toBe(200);
    expect(fake.calls.filter((c) => c === 'CreateTask')).toHaveLength(400);
  });

  it('reports a refusal other than a taken name with the task it concerns', async () => {
    const { queue } = await setUp({}, { queue: 'no-such-queue' });
    await expect(queue.enqueue([{ name: 'lost', payload: payload('l') }])).rejects.toThrow(/refused 1 task.*lost: 5 NOT_FOUND/);
  });

  it('refuses a dispatch deadline Cloud Tasks would refuse', async () => {
    const { client, receiver } = await setUp();
    const options = {
      client,
      project: PROJECT,
      location: LOCATION,
      queue: QUEUE,
      targetUrl: receiver.url,
      serviceAccountEmail: null,
    };
    expect(() => new CloudTasksQueue({ ...options, dispatchDeadlineSeconds: 14 })).toThrow(/dispatchDeadlineSeconds/);
    expect(() => new CloudTasksQueue({ ...options, dispatchDeadlineSeconds: 1801 })).toThrow(/dispatchDeadlineSeconds/);
  });

  it('rejects enqueue after close()', async () => {
    const { queue } = await setUp();
    await queue.close();
    await expect(queue.enqueue([{ name: 'late', payload: payload('l') }])).rejects.toThrow(/closed/);
  });
});
