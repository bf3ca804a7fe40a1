import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isBlockedAddress } from './url-policy.js';

/** How a POST ended: the receiver's status, or why none came. */
export interface PostOutcome {
  status: number | null;
  error: string | null;
  durationMs: number;
}

export type PostWebhook = (
  url: string,
  body: string,
  headers: Record<string, string>,
  options: { timeoutMs: number; allowPrivate: boolean },
) => Promise<PostOutcome>;

/** Read of a receiver's answer, at most; the rest is dropped. @default 65_536 // 64 KiB */
const MAX_RESPONSE_BYTES = 65_536;

/**
 * POSTs one webhook with node:http(s): no redirects followed (a 3xx is a failed attempt), a
 * deadline for the whole exchange, and, unless private addresses are allowed, a DNS lookup
 * that refuses private, loopback and link-local answers at connect time, so a name that
 * resolved to a public address at submit cannot be re-pointed inside the network later
 * (DNS rebinding).
 */
export const postWebhook: PostWebhook = (url, body, headers, { timeoutMs, allowPrivate }) => {
  const started = performance.now();
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const options: RequestOptions = {
    method: 'POST',
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    timeout: timeoutMs,
    ...(!allowPrivate && { lookup: publicOnlyLookup }),
  };
  return new Promise<PostOutcome>((resolve) => {
    let settled = false;
    const finish = (status: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve({ status, error, durationMs: performance.now() - started });
    };
    const req = send(target, options, (res) => {
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_RESPONSE_BYTES) res.destroy();
      });
      const status = res.statusCode ?? null;
      const ok = status !== null && status >= 200 && status < 300;
      res.on('close', () => finish(status, ok ? null : `the receiver answered HTTP ${status}`));
      res.on('error', () => finish(status, ok ? null : `the receiver answered HTTP ${status}`));
    });
    // `timeout` only covers idle sockets; the deadline covers a receiver that trickles.
    const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => finish(null, error.message));
    req.end(body);
  });
};

/** dns.lookup that fails for any blocked address among the answers. */
function publicOnlyLookup(
  hostname: string,
  options: LookupOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const blocked = addresses.find((a) => isBlockedAddress(a.address));
    if (blocked) {
      const refused: NodeJS.ErrnoException = new Error(`${hostname} resolves to a blocked address (${blocked.address})`);
      refused.code = 'EBLOCKED';
      return callback(refused, []);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
}
