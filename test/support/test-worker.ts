import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Job, Result } from '../../src/domain/job.js';
import type { JobStore } from '../../src/ports/job-store.js';
import type { TaskPayload } from '../../src/ports/task-queue.js';

/** What the test worker does with a claimed job; the default completes it at once. */
export type JobHandler = (job: Job, attempt: number) => Promise<{ result: Result } | { error: string } | 'release'>;

export interface TestWorker {
  /** Base URL to give the api as OMTX_WORKER_URL. */
  url: string;
  deliveries: { headers: IncomingMessage['headers']; payload: TaskPayload }[];
  /** Claims refused because the batch already ran maxConcurrent children. */
  throttled(): number;
  setHandler(handler: JobHandler): void;
  close(): Promise<void>;
}

/** A Vina-like result whose affinity follows the ligand's index, so rankings are predictable. */
export function fakeResult(job: Job): Result {
  const index = job.batchIndex ?? 0;
  return {
    affinity: {
      value: -5 - (index % 7) - index / 1000,
      unit: 'KCAL_PER_MOL',
      kcalPerMol: null,
      probabilityBinder: null,
      heads: [],
    },
    confidence: null,
    poses: [{ rank: 1, score: -5 - (index % 7), rmsdLowerBound: 0, rmsdUpperBound: 0 }],
    artifacts: [],
    provenance: { model: 'test-worker' },
  };
}

/**
 * The dispatcher target the tests use until the real worker exists: it speaks the worker's
 * protocol (POST /tasks with job ids, GET /models) and goes through the real JobStore —
 * claim, then complete, fail or release — so everything above it runs for real.
 */
export async function startTestWorker(store: () => JobStore): Promise<TestWorker> {
  let handler: JobHandler = async (job) => ({ result: fakeResult(job) });
  const deliveries: TestWorker['deliveries'] = [];
  let throttled = 0;
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          models: [
            { name: 'VINA', available: true },
            { name: 'BOLTZ2', available: false, reason: 'no GPU in tests' },
          ],
        }),
      );
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      try {
        const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as TaskPayload;
        deliveries.push({ headers: req.headers, payload });
        let transient = false;
        for (const id of payload.jobIds) {
          const claim = await store().claim(id, new Date(), 60_000);
          // THROTTLED means "come back later": like the real worker, answer 503 so the queue retries.
          if (!claim.claimed && claim.reason === 'THROTTLED') {
            throttled++;
            transient = true;
            continue;
          }
          if (!claim.claimed) continue;
          const outcome = await handler(claim.job, claim.attempt);
          if (outcome === 'release') {
            await store().release(id, claim.attempt, { code: 'TRANSIENT', message: 'test fault', retryable: true }, new Date());
            transient = true;
          } else if ('error' in outcome) {
            await store().fail(id, claim.attempt, { code: 'BAD_INPUT', message: outcome.error, retryable: false }, new Date());
          } else {
            await store().complete(id, claim.attempt, outcome.result, new Date());
          }
        }
        res.writeHead(transient ? 503 : 200).end();
      } catch (error) {
        res.writeHead(500).end(String(error));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    throttled: () => throttled,
    setHandler: (h) => (handler = h),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
