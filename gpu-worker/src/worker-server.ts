import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_TASK_BODY_BYTES, type TaskPayload } from '../../src/ports/task-queue.js';
import { BodyTooLargeError, readBody } from '../../src/server/read-body.js';
import { handleTask, type TaskHandlerDeps } from './task-handler.js';
import type { Semaphore } from './semaphore.js';

export interface RunningWorker {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * The worker service, the Cloud Tasks HTTP target: `POST /tasks` runs a task (ids only),
 * `GET /models` says which runners can run here and why not, `GET /healthz`.
 */
export async function startWorkerServer(
  deps: TaskHandlerDeps,
  slots: Semaphore,
  host: string,
  port: number,
): Promise<RunningWorker> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') return void res.writeHead(200).end('ok\n');
    if (req.method === 'GET' && path === '/models') {
      void deps.runners.describe().then((models) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ models }));
      });
      return;
    }
    if (req.method !== 'POST' || path !== '/tasks') return void res.writeHead(404).end();
    const taskName = req.headers['x-cloudtasks-taskname'];
    const retryCount = req.headers['x-cloudtasks-taskretrycount'];
    void readBody(req, MAX_TASK_BODY_BYTES)
      .then((text) => parsePayload(text))
      .then(async (payload) => {
        if (!payload)
          return void res
            .writeHead(400, { 'content-type': 'text/plain' })
            .end('expected {"jobIds": [string], "batchId": string|null}\n');
        const outcome = await slots.run(() => handleTask(deps, payload));
        deps.log('info', 'task done', { taskName, retryCount, ...outcome });
        res.writeHead(outcome.status, { 'content-type': 'application/json' }).end(JSON.stringify(outcome));
      })
      .catch((error: unknown) => {
        // A body over Cloud Tasks' limit is not a task of ours; no retry can fix it.
        if (error instanceof BodyTooLargeError)
          return void res.writeHead(413, { 'content-type': 'text/plain' }).end(`${error.message}\n`);
        // A store or blob fault: the queue retries the task; claims make the retry safe.
        deps.log('error', 'task failed', { taskName, err: error });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('task failed; it will be retried\n');
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** A task body (ids only); null when it is not one, which no retry can fix (400). */
function parsePayload(text: string): TaskPayload | null {
  try {
    const value = JSON.parse(text) as Partial<TaskPayload>;
    const ids = value.jobIds;
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string')) return null;
    if (value.batchId !== null && typeof value.batchId !== 'string') return null;
    return { jobIds: ids, batchId: value.batchId };
  } catch {
    return null;
  }
}
