import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JobStore } from '../ports/job-store.js';
import { withTimeout } from '../with-timeout.js';

/** A store slower than this is as good as down for a load balancer. @default 2_000 // 2 seconds */
const PING_TIMEOUT_MS = 2_000;

/**
 * `/readyz`: 200 while the api can serve, 503 while it drains or its JobStore does not
 * answer (a Firestore outage turns it red, and green again once Firestore is back; the
 * process stays up). The reason is in the body, for whoever reads the probe's log.
 */
export async function serveReadiness(
  _req: IncomingMessage,
  res: ServerResponse,
  jobs: JobStore,
  draining: boolean,
): Promise<void> {
  const reply = (status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end(`${body}\n`);
  };
  if (draining) return reply(503, 'draining');
  try {
    await withTimeout(jobs.ping(), PING_TIMEOUT_MS, 'the job store');
    reply(200, 'ready');
  } catch (error) {
    reply(503, `job store unavailable: ${(error as Error).message}`);
  }
}
