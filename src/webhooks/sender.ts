import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isBlockedAddress, resolveAll, resolvesPrivately, type BlockedResolution, type ResolveAll } from './url-policy.js';

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
  options: {
    timeoutMs: number;
    allowPrivate: boolean;
    /** @default resolveAll // c-ares, A and AAAA */
    resolve?: ResolveAll;
    /** Told the private address a name resolved to at connect time; the outcome's error does not name it. */
    onBlocked?: (blocked: BlockedResolution) => void;
  },
) => Promise<PostOutcome>;

/** Read of a receiver's answer, at most; the rest is dropped. @default 65_536 // 64 KiB */
const MAX_RESPONSE_BYTES = 65_536;

/**
 * POSTs one webhook with node:http(s): no redirects followed (a 3xx is a failed attempt), a
 * deadline for the whole exchange, and, unless private addresses are allowed, a DNS lookup
 * (c-ares, as at submit) that refuses private, loopback and link-local answers at connect
 * time, so a name that resolved to a public address at submit cannot be re-pointed inside the
 * network later (DNS rebinding). The socket connects only to an address this lookup checked.
 */
export const postWebhook: PostWebhook = (url, body, headers, { timeoutMs, allowPrivate, resolve, onBlocked }) => {
  const started = performance.now();
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const options: RequestOptions = {
    method: 'POST',
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    timeout: timeoutMs,
    ...(!allowPrivate && { lookup: publicOnlyLookup(resolve ?? resolveAll, onBlocked) }),
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

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net.connect that resolves with `resolve` and fails (EBLOCKED) when any answer
 * is a blocked address; it honours the `family` and `all` net asks for.
 */
function publicOnlyLookup(
  resolve: ResolveAll,
  onBlocked: ((blocked: BlockedResolution) => void) | undefined,
): (hostname: string, options: LookupOptions, callback: LookupCallback) => void {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (answers) => {
        const blocked = answers.find((a) => isBlockedAddress(a.address));
        if (blocked) {
          onBlocked?.({ host: hostname, address: blocked.address, when: 'connect' });
          const refused: NodeJS.ErrnoException = new Error(resolvesPrivately(hostname));
          refused.code = 'EBLOCKED';
          return callback(refused, []);
        }
        const family = options.family === 4 || options.family === 6 ? options.family : 0;
        const addresses = answers.filter((a) => family === 0 || a.family === family);
        if (addresses.length === 0) {
          const none: NodeJS.ErrnoException = new Error(`${hostname} has no IPv${family} address`);
          none.code = 'ENOTFOUND';
          return callback(none, []);
        }
        if (options.all) return callback(null, addresses);
        callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, []),
    );
  };
}
