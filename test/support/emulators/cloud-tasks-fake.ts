import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { randomInt } from 'node:crypto';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import type { AttemptOutcome } from '../../../src/adapters/local/task-queue/deliver.js';
import { MAX_TASK_BODY_BYTES } from '../../../src/ports/task-queue.js';
import { FakeQueue, withoutServiceHeaders, type FakeQueueSettings, type FakeTask } from './cloud-tasks/fake-queue.js';

export type { FakeQueueSettings, FakeTask } from './cloud-tasks/fake-queue.js';

/**
 * A Cloud Tasks server for tests (Google ships no emulator): gRPC on the client's own
 * `cloudtasks.proto`, so the real `CloudTasksClient` talks to it with production's transport
 * and status codes, and it POSTs each task to its URL as the real service does.
 *
 * Implemented: CreateTask, GetTask, ListTasks, DeleteTask, GetQueue (HTTP targets, POST only).
 * The other methods answer UNIMPLEMENTED. Queues exist from the start, with the given
 * settings; there is no CreateQueue.
 */
export interface CloudTasksFakeOptions {
  /** @default 0 // a free port */
  port?: number;
  queues: FakeQueueSettings[];
  /** Cloud Tasks keeps a finished or deleted task's name taken for ~1 hour. @default 3_600_000 // ms */
  nameRetentionMs?: number;
  /** Replaces every task's dispatch deadline, so the timeout path takes ms, not 15 s. */
  dispatchDeadlineOverrideMs?: number;
  /** Delivers every task a second time beside its first attempt (at-least-once, made certain). */
  deliverEveryTaskTwice?: boolean;
}

export interface CloudTasksFake {
  /** `127.0.0.1:port`, what `OMTX_TASKS_EMULATOR_HOST` takes. */
  host: string;
  port: number;
  /** The RPCs served (method names), oldest first: what a client sent, for tests. */
  readonly calls: readonly string[];
  /** Every attempt's task name and outcome, oldest first (duplicates not included). */
  readonly attempts: ReadonlyArray<{ task: string; outcome: AttemptOutcome }>;
  /**
   * Sends the waiting task `name` (full or short id) twice: both at once with its next attempt
   * (`together`, the default), or once more after that attempt's 2xx (`after`). False when
   * no such task waits.
   */
  deliverTwice(name: string, when?: 'together' | 'after'): boolean;
  /** Stops serving and dispatching; attempts in flight are aborted. */
  stop(): Promise<void>;
}

/** Cloud Tasks' default dispatch deadline. @default 600_000 // 10 minutes */
const DEFAULT_DISPATCH_DEADLINE_MS = 600_000;
const MIN_DISPATCH_DEADLINE_MS = 15_000;
const MAX_DISPATCH_DEADLINE_MS = 1_800_000;
/** Cloud Tasks refuses a schedule time further ahead than 30 days. */
const MAX_SCHEDULE_AHEAD_MS = 30 * 86_400_000;
const MAX_URL_CHARS = 2083;
/** ListTasks' largest page. */
const MAX_PAGE_SIZE = 1000;
const TASK_ID = /^[A-Za-z0-9_-]{1,500}$/;

/** Starts the fake on 127.0.0.1. */
export async function startCloudTasksFake(options: CloudTasksFakeOptions): Promise<CloudTasksFake> {
  const attempts: Array<{ task: string; outcome: AttemptOutcome }> = [];
  const calls: string[] = [];
  const queues = new Map<string, FakeQueue>();
  for (const settings of options.queues) {
    const queue = new FakeQueue(settings, {
      nameRetentionMs: options.nameRetentionMs ?? 3_600_000,
      dispatchDeadlineOverrideMs: options.dispatchDeadlineOverrideMs ?? null,
      onAttempt: (task, outcome) => attempts.push({ task: task.name, outcome }),
    });
    queues.set(settings.queueName, queue);
  }
  const queueOf = (taskName: string) => queues.get(taskName.slice(0, taskName.lastIndexOf('/tasks/')));

  const server = new grpc.Server();
  server.addService(loadCloudTasksService(), {
    CreateTask: unary<CreateTaskRequest, ProtoTask>(calls, 'CreateTask', ({ parent, task, responseView }) => {
      const queue = queues.get(parent);
      if (!queue) throw grpcError(grpc.status.NOT_FOUND, `queue ${parent} does not exist`);
      const created = taskFrom(parent, task);
      if (options.deliverEveryTaskTwice) created.duplicate = 'together';
      if (!queue.add(created)) throw grpcError(grpc.status.ALREADY_EXISTS, `task ${created.name} already exists`);
      return toProto(created, responseView);
    }),
    GetTask: unary<{ name: string; responseView: string }, ProtoTask>(calls, 'GetTask', ({ name, responseView }) => {
      const task = queueOf(name)?.get(name);
      if (!task) throw grpcError(grpc.status.NOT_FOUND, `task ${name} does not exist`);
      return toProto(task, responseView);
    }),
    ListTasks: unary<ListTasksRequest, { tasks: ProtoTask[]; nextPageToken: string }>(calls, 'ListTasks', (request) => {
      const queue = queues.get(request.parent);
      if (!queue) throw grpcError(grpc.status.NOT_FOUND, `queue ${request.parent} does not exist`);
      const size = Math.min(request.pageSize || MAX_PAGE_SIZE, MAX_PAGE_SIZE);
      const start = request.pageToken ? Number(request.pageToken) : 0;
      const all = queue.list();
      const page = all.slice(start, start + size);
      const nextPageToken = start + size < all.length ? String(start + size) : '';
      return { tasks: page.map((task) => toProto(task, request.responseView)), nextPageToken };
    }),
    DeleteTask: unary<{ name: string }, object>(calls, 'DeleteTask', ({ name }) => {
      if (!queueOf(name)?.delete(name)) throw grpcError(grpc.status.NOT_FOUND, `task ${name} does not exist`);
      return {};
    }),
    GetQueue: unary<{ name: string }, object>(calls, 'GetQueue', ({ name }) => {
      const queue = queues.get(name);
      if (!queue) throw grpcError(grpc.status.NOT_FOUND, `queue ${name} does not exist`);
      return queueProto(queue.settings);
    }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );

  return {
    host: `127.0.0.1:${port}`,
    port,
    calls,
    attempts,
    deliverTwice(name, when = 'together') {
      for (const [queueName, queue] of queues) {
        if (queue.deliverTwice(name.includes('/') ? name : `${queueName}/tasks/${name}`, when)) return true;
      }
      return false;
    },
    async stop() {
      server.forceShutdown();
      await Promise.all([...queues.values()].map((queue) => queue.stop()));
    },
  };
}

/** The CloudTasks service definition from the client's own protos (and google-gax's common ones). */
function loadCloudTasksService(): grpc.ServiceDefinition {
  const require = createRequire(import.meta.url);
  // Both packages keep their protos in build/protos beside the build/… of their entry point.
  const protosOf = (pkg: string) => {
    const main = require.resolve(pkg);
    return join(main.slice(0, main.lastIndexOf(`${sep}build${sep}`)), 'build', 'protos');
  };
  const tasksProtos = protosOf('@google-cloud/tasks');
  const definition = protoLoader.loadSync(join(tasksProtos, 'google/cloud/tasks/v2/cloudtasks.proto'), {
    includeDirs: [tasksProtos, protosOf('google-gax')],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const service = definition['google.cloud.tasks.v2.CloudTasks'];
  if (!service) throw new Error(`no google.cloud.tasks.v2.CloudTasks service in ${tasksProtos}`);
  return service as grpc.ServiceDefinition;
}

// The request and response shapes used here, as proto-loader decodes them (camelCase,
// longs as strings, enums as names, unset messages as null).
interface ProtoTimestamp {
  seconds: string | number;
  nanos: number;
}
interface ProtoHttpRequest {
  url: string;
  httpMethod: string;
  headers: Record<string, string>;
  body: Buffer;
  oidcToken: { serviceAccountEmail: string; audience: string } | null;
  oauthToken: object | null;
  authorizationHeader?: string;
}
interface ProtoTask {
  name: string;
  httpRequest: ProtoHttpRequest | null;
  appEngineHttpRequest?: object | null;
  scheduleTime: ProtoTimestamp | null;
  createTime?: ProtoTimestamp | null;
  dispatchDeadline: ProtoTimestamp | null;
  dispatchCount?: number;
  responseCount?: number;
  firstAttempt?: object | null;
  lastAttempt?: object | null;
  view?: string;
}
interface CreateTaskRequest {
  parent: string;
  task: ProtoTask | null;
  responseView: string;
}
interface ListTasksRequest {
  parent: string;
  responseView: string;
  pageSize: number;
  pageToken: string;
}

/** Checks a CreateTask request as Cloud Tasks does and builds the task. */
function taskFrom(parent: string, task: ProtoTask | null): FakeTask {
  const invalid = (message: string) => grpcError(grpc.status.INVALID_ARGUMENT, message);
  if (!task) throw invalid('task is required');
  const http = task.httpRequest;
  if (!http) throw grpcError(grpc.status.UNIMPLEMENTED, 'the Cloud Tasks fake serves HTTP targets only (httpRequest)');
  if (http.oauthToken) throw grpcError(grpc.status.UNIMPLEMENTED, 'the Cloud Tasks fake does not mint OAuth tokens');
  if (!['POST', 'HTTP_METHOD_UNSPECIFIED'].includes(http.httpMethod)) {
    throw grpcError(grpc.status.UNIMPLEMENTED, `the Cloud Tasks fake delivers POST only, not ${http.httpMethod}`);
  }
  let name = task.name;
  if (name === '') name = `${parent}/tasks/${generatedId()}`;
  const id = name.slice(`${parent}/tasks/`.length);
  if (!name.startsWith(`${parent}/tasks/`) || !TASK_ID.test(id)) {
    throw invalid(`task name ${name} must be ${parent}/tasks/TASK_ID, TASK_ID 1–500 of [A-Za-z0-9_-]`);
  }
  if (!/^https?:\/\//.test(http.url) || http.url.length > MAX_URL_CHARS || !URL.canParse(http.url)) {
    throw invalid(`url must be an http(s) URL of at most ${MAX_URL_CHARS} characters: ${http.url}`);
  }
  const headers = withoutServiceHeaders(http.headers);
  const size =
    Buffer.byteLength(http.url) +
    http.body.length +
    Object.entries(headers).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (size > MAX_TASK_BODY_BYTES) throw invalid(`Task size too large: ${size} bytes, the maximum is ${MAX_TASK_BODY_BYTES}`);

  const nowMs = Date.now();
  const scheduleMs = task.scheduleTime ? msOf(task.scheduleTime) : nowMs;
  if (scheduleMs > nowMs + MAX_SCHEDULE_AHEAD_MS) throw invalid('schedule_time is more than 30 days in the future');
  const dispatchDeadlineMs = task.dispatchDeadline ? msOf(task.dispatchDeadline) : DEFAULT_DISPATCH_DEADLINE_MS;
  if (dispatchDeadlineMs < MIN_DISPATCH_DEADLINE_MS || dispatchDeadlineMs > MAX_DISPATCH_DEADLINE_MS) {
    throw invalid(`dispatch_deadline must be between 15 seconds and 30 minutes, not ${dispatchDeadlineMs / 1000} s`);
  }
  return {
    name,
    url: http.url,
    headers,
    body: Buffer.from(http.body),
    oidc: http.oidcToken
      ? { serviceAccountEmail: http.oidcToken.serviceAccountEmail, audience: http.oidcToken.audience || http.url }
      : null,
    createMs: nowMs,
    scheduleMs,
    dispatchDeadlineMs,
    dispatchCount: 0,
    responseCount: 0,
    lastStatus: null,
    firstDispatchMs: null,
    lastDispatchMs: null,
    inFlight: false,
    duplicate: null,
  };
}

/** The task as the API returns it; BASIC (the default view) leaves out the body. */
function toProto(task: FakeTask, view: string): ProtoTask {
  const full = view === 'FULL';
  const attempt = (ms: number | null) => (ms === null ? null : { dispatchTime: timestampOf(ms) });
  return {
    name: task.name,
    httpRequest: {
      url: task.url,
      httpMethod: 'POST',
      headers: task.headers,
      body: full ? task.body : Buffer.alloc(0),
      oidcToken: task.oidc,
      oauthToken: null,
    },
    scheduleTime: timestampOf(task.scheduleMs),
    createTime: timestampOf(task.createMs),
    dispatchDeadline: timestampOf(task.dispatchDeadlineMs),
    dispatchCount: task.dispatchCount,
    responseCount: task.responseCount,
    firstAttempt: attempt(task.firstDispatchMs),
    lastAttempt: attempt(task.lastDispatchMs),
    view: full ? 'FULL' : 'BASIC',
  };
}

function queueProto(settings: FakeQueueSettings): object {
  return {
    name: settings.queueName,
    rateLimits: {
      maxDispatchesPerSecond: settings.maxDispatchesPerSecond ?? 500,
      maxConcurrentDispatches: settings.maxConcurrentDispatches,
    },
    retryConfig: {
      maxAttempts: settings.maxAttempts,
      minBackoff: timestampOf(settings.minBackoffMs),
      maxBackoff: timestampOf(settings.maxBackoffMs),
      maxDoublings: settings.maxDoublings ?? 16,
    },
    state: 'RUNNING',
  };
}

/** Timestamp and Duration share the shape { seconds, nanos }. */
function msOf({ seconds, nanos }: ProtoTimestamp): number {
  return Number(seconds) * 1000 + nanos / 1e6;
}

function timestampOf(ms: number): ProtoTimestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** Cloud Tasks' own generated ids are long decimal numbers. */
function generatedId(): string {
  return `${randomInt(1e9, 1e10 - 1)}${randomInt(1e9, 1e10 - 1)}`;
}

function grpcError(code: grpc.status, details: string): Partial<grpc.ServiceError> {
  return Object.assign(new Error(details), { code, details });
}

/** A unary handler from a function that returns the response or throws a grpcError. */
function unary<Req, Res>(calls: string[], method: string, handle: (request: Req) => Res): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    calls.push(method);
    try {
      callback(null, handle(call.request));
    } catch (error) {
      callback(error as Partial<grpc.ServiceError>);
    }
  };
}
