import { CloudTasksClient } from '@google-cloud/tasks';
import { grpc } from 'google-gax';
import type { EnqueueOutcome, TaskQueue, TaskRequest } from '../../ports/task-queue.js';
import { taskBody } from '../local/task-queue/validate.js';
import { mapBounded } from './cloud-tasks/map-bounded.js';
import { cloudTaskId } from './cloud-tasks/task-id.js';
import type { TasksConfig } from './gcp-config.js';

export { cloudTaskId } from './cloud-tasks/task-id.js';

/**
 * The caller's de-duplication name, sent with each task. The Cloud Tasks task id is its hash
 * (X-CloudTasks-TaskName carries that), so this header is what ties a delivery in the
 * worker's log back to the name the api enqueued.
 */
export const TASK_NAME_HEADER = 'X-OMTX-Task-Name';

export interface CloudTasksQueueOptions {
  client: CloudTasksClient;
  project: string;
  location: string;
  /** The queue id (deploy/ creates the queue with its rate, concurrency and retry settings). */
  queue: string;
  /** The worker's `/tasks` URL. */
  targetUrl: string;
  /** Whose OIDC token Cloud Tasks attaches; null only against the emulator, which checks none. */
  serviceAccountEmail: string | null;
  /** The token's audience, which Cloud Run checks. @default the origin of targetUrl */
  audience?: string | null;
  /** How long Cloud Tasks waits for the worker's answer, 15 – 1800. @default 1800 // seconds */
  dispatchDeadlineSeconds?: number;
  /** CreateTask calls in flight at once for one enqueue. @default 32 // calls */
  createConcurrency?: number;
}

/** A task Cloud Tasks did not take, for reasons other than its name being taken. */
export class TaskCreateError extends Error {
  constructor(
    readonly failures: { name: string; error: unknown }[],
    readonly created: number,
  ) {
    const first = failures[0]!;
    super(
      `Cloud Tasks refused ${failures.length} task(s) (${created} created meanwhile; enqueue them again, ` +
        `created names come back DUPLICATE); first: ${first.name}: ${describe(first.error)}`,
      { cause: first.error },
    );
  }
}

/**
 * The TaskQueue on Cloud Tasks: each task is an HTTP-target POST of its JSON payload to the
 * worker, with an OIDC token for the worker's service account, a hashed task id for
 * de-duplication, a dispatch deadline and a schedule time. Retries, backoff and concurrency
 * are the queue's own settings (deploy/). Cloud Tasks drops a task after its last attempt
 * without telling anyone, so there is no equivalent of SqliteTaskQueue's onTaskFailed: jobs of
 * a dropped task must be found by whoever sweeps stale QUEUED jobs.
 */
export class CloudTasksQueue implements TaskQueue {
  readonly #client: CloudTasksClient;
  readonly #parent: string;
  readonly #targetUrl: string;
  readonly #oidcToken: { serviceAccountEmail: string; audience: string } | null;
  readonly #dispatchDeadlineSeconds: number;
  readonly #createConcurrency: number;
  readonly #pending = new Set<Promise<unknown>>();
  #closed: Promise<void> | null = null;

  constructor(options: CloudTasksQueueOptions) {
    const deadline = options.dispatchDeadlineSeconds ?? 1800;
    if (!Number.isInteger(deadline) || deadline < 15 || deadline > 1800) {
      throw new Error(`dispatchDeadlineSeconds must be a whole number of seconds from 15 to 1800, not ${deadline}`);
    }
    this.#client = options.client;
    this.#parent = options.client.queuePath(options.project, options.location, options.queue);
    this.#targetUrl = new URL(options.targetUrl).href;
    this.#oidcToken =
      options.serviceAccountEmail === null
        ? null
        : { serviceAccountEmail: options.serviceAccountEmail, audience: options.audience ?? new URL(options.targetUrl).origin };
    this.#dispatchDeadlineSeconds = deadline;
    this.#createConcurrency = options.createConcurrency ?? 32;
  }

  /**
   * Creates the tasks, `createConcurrency` at a time. A name already taken in the queue (also
   * by a task that ran within the last hour) or earlier in this call is DUPLICATE. An invalid
   * task (name, date, body over 100 KB) rejects the whole call before any is sent. Other
   * refusals reject with TaskCreateError once every call has settled.
   */
  async enqueue(tasks: TaskRequest[]): Promise<EnqueueOutcome[]> {
    if (this.#closed) throw new Error('CloudTasksQueue is closed');
    const bodies = tasks.map(taskBody); // every task checked before any is sent
    const seen = new Set<string>();
    const work = mapBounded(tasks, this.#createConcurrency, async (task, i): Promise<EnqueueOutcome['status'] | Error> => {
      if (seen.has(task.name)) return 'DUPLICATE';
      seen.add(task.name);
      try {
        await this.#client.createTask({ parent: this.#parent, task: this.#taskFor(task, bodies[i]!) });
        return 'CREATED';
      } catch (error) {
        if ((error as { code?: unknown }).code === grpc.status.ALREADY_EXISTS) return 'DUPLICATE';
        return error instanceof Error ? error : new Error(String(error));
      }
    });
    const results = await this.#track(work);
    const failures = results.flatMap((result, i) => (result instanceof Error ? [{ name: tasks[i]!.name, error: result }] : []));
    if (failures.length > 0) throw new TaskCreateError(failures, results.filter((r) => r === 'CREATED').length);
    return tasks.map((task, i) => ({ name: task.name, status: results[i] as EnqueueOutcome['status'] }));
  }

  /**
   * Tasks waiting or in flight, counted through ListTasks (the v2 API has no queue stats).
   * That is one read per 1,000 tasks: fine for /metrics now and then, not per request.
   */
  async depth(): Promise<number> {
    let count = 0;
    const request = { parent: this.#parent, pageSize: 1000, responseView: 'BASIC' as const };
    // The async iterator pages by itself; autoPaginate (on by default) only draws a warning.
    for await (const _task of this.#client.listTasksAsync(request, { autoPaginate: false })) {
      count += 1;
    }
    return count;
  }

  /** Waits for enqueues under way, then closes the client's channel. */
  close(): Promise<void> {
    this.#closed ??= Promise.allSettled([...this.#pending]).then(() => this.#client.close());
    return this.#closed;
  }

  #taskFor(task: TaskRequest, body: string) {
    const scheduleMs = task.scheduleAt?.getTime();
    return {
      name: `${this.#parent}/tasks/${cloudTaskId(task.name)}`,
      httpRequest: {
        url: this.#targetUrl,
        httpMethod: 'POST' as const,
        // Without a content type Cloud Tasks sends application/octet-stream.
        headers: { 'Content-Type': 'application/json', [TASK_NAME_HEADER]: task.name },
        body: Buffer.from(body, 'utf8'),
        ...(this.#oidcToken ? { oidcToken: this.#oidcToken } : {}),
      },
      ...(scheduleMs === undefined
        ? {}
        : { scheduleTime: { seconds: Math.floor(scheduleMs / 1000), nanos: (scheduleMs % 1000) * 1_000_000 } }),
      dispatchDeadline: { seconds: this.#dispatchDeadlineSeconds },
    };
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#pending.add(promise);
    void promise.finally(() => this.#pending.delete(promise)).catch(() => {});
    return promise;
  }
}

/**
 * A Cloud Tasks client for `config`: Google's endpoint, or a plaintext gRPC server at
 * `emulatorHost` (the tests' fake; EMULATORS.md).
 */
export function cloudTasksClientFrom(projectId: string, config: TasksConfig): CloudTasksClient {
  if (config.emulatorHost === null) return new CloudTasksClient({ projectId });
  const colon = config.emulatorHost.lastIndexOf(':');
  return new CloudTasksClient({
    projectId,
    // Given, so the auth library does not probe the GCE metadata server for it.
    universeDomain: 'googleapis.com',
    apiEndpoint: config.emulatorHost.slice(0, colon),
    port: Number(config.emulatorHost.slice(colon + 1)),
    sslCreds: grpc.credentials.createInsecure(),
  });
}

/** The api's queue from its settings: tasks POST to `targetUrl`, the worker's `/tasks`. */
export function cloudTasksQueueFrom(projectId: string, config: TasksConfig, targetUrl: string): CloudTasksQueue {
  return new CloudTasksQueue({
    client: cloudTasksClientFrom(projectId, config),
    project: projectId,
    location: config.location,
    queue: config.queue,
    targetUrl,
    serviceAccountEmail: config.serviceAccountEmail,
    audience: config.audience,
    dispatchDeadlineSeconds: config.dispatchDeadlineSeconds,
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
