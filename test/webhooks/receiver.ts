import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST as the receiver saw it. */
export interface Received {
  /** The request's path: a followed redirect would show another. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: unknown;
  /** Whether X-OMTX-Signature verified against the secret the test gave the receiver. */
  signatureValid: boolean;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Status codes to answer, in order; 200 once they run out. A 3xx points `Location` at `/redirected`. */
  answer(statuses: number[]): void;
  /** Resolves once `n` POSTs arrived. */
  until(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/**
 * A webhook receiver written as a customer would, from the documentation only: it verifies
 * `X-OMTX-Signature: t=<unix>,v1=<hex>` as HMAC-SHA256, keyed with the secret string, over
 * `<t>.<raw body>`, and rejects a timestamp more than 5 minutes away. It imports nothing of ours.
 */
export async function startReceiver(secret: () => string): Promise<Receiver> {
  const received: Received[] = [];
  let statuses: number[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        body,
        json: JSON.parse(body),
        signatureValid: verifySignature(secret(), req.headers, body),
      });
      const status = statuses.shift() ?? 200;
      res.writeHead(status, status >= 300 && status < 400 ? { location: '/redirected' } : {}).end();
      for (const wake of waiters) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/omtx`,
    received,
    answer: (s) => (statuses = [...s]),
    until(n, timeoutMs = 20_000) {
      if (received.length >= n) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const wake = () => {
          if (received.length < n) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(received);
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`the receiver got ${received.length} POSTs within ${timeoutMs} ms, expected ${n}`));
        }, timeoutMs);
        waiters.add(wake);
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Verifies `X-OMTX-Signature` as the README tells a receiver to. */
export function verifySignature(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  const header = headers['x-omtx-signature'];
  if (typeof header !== 'string') return false;
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > 300 || !parts.v1) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
