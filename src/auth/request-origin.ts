import type { IncomingMessage } from 'node:http';

/** `Host` names a browser uses for this machine itself; a rebound public name is none of them. */
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** What a request's `Host` and `Origin` may be: the settings `refusalOf` needs. */
export interface RequestOriginPolicy {
  /** Every request needs a credential; when false, the local user acts for anonymous requests. */
  authRequired: boolean;
  /** The address the api listens on (also accepted as a `Host` name when it is a loopback literal). */
  listenHost: string;
  /** `OMTX_CORS_ORIGINS`: `['*']` for any. */
  corsOrigins: readonly string[];
}

/**
 * Why a request must be refused before anything else runs, or null to let it through.
 *
 * - **DNS rebinding.** Without authentication, anyone who can make a browser on this machine
 *   load a page can point their own name at 127.0.0.1 and have the page call the api as the
 *   local user. So then `Host` must name loopback (`localhost`, `127.0.0.1`, `[::1]` or the
 *   listen address, any port); with authentication required a stranger's page holds no
 *   credential, and any `Host` is fine (a proxy or a load balancer names the service).
 * - **Cross-site WebSocket hijacking** (`checkOrigin`, for upgrades only: browsers apply no
 *   CORS to WebSockets). A page on another origin may open a socket to us; the browser says
 *   which with `Origin`. An `Origin` must be in `OMTX_CORS_ORIGINS` or be this server's own
 *   (same host and port as `Host`). A request without `Origin` is not from a browser page (a
 *   script, the CLI) and passes.
 */
export function refusalOf(req: IncomingMessage, policy: RequestOriginPolicy, checkOrigin: boolean): string | null {
  const host = req.headers.host;
  if (!policy.authRequired && host !== undefined && !isLoopbackHostHeader(host, policy.listenHost)) {
    return (
      `Host ${JSON.stringify(host)} is not a loopback name: without authentication this api answers only ` +
      'requests for localhost, 127.0.0.1 or [::1] (a guard against DNS rebinding); ' +
      'set OMTX_AUTH_REQUIRED=true to serve other names'
    );
  }
  const origin = req.headers.origin;
  if (checkOrigin && origin !== undefined && !originAllowed(origin, host, policy.corsOrigins)) {
    return `Origin ${JSON.stringify(origin)} may not open a WebSocket here: it is neither this server's origin nor in OMTX_CORS_ORIGINS`;
  }
  return null;
}

function isLoopbackHostHeader(host: string, listenHost: string): boolean {
  const name = hostName(host);
  if (name === null) return false;
  const listen = listenHost.includes(':') && !listenHost.startsWith('[') ? `[${listenHost}]` : listenHost;
  return LOOPBACK_NAMES.has(name) || name === listen.toLowerCase();
}

/** The name part of a `Host` value (`[::1]` keeps its brackets), lower case; null when malformed. */
function hostName(host: string): string | null {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/i.exec(host.trim());
  return match ? match[1]!.toLowerCase() : null;
}

function originAllowed(origin: string, host: string | undefined, corsOrigins: readonly string[]): boolean {
  if (corsOrigins.includes('*') || corsOrigins.includes(origin)) return true;
  if (host === undefined) return false;
  try {
    const url = new URL(origin);
    // `url.host` drops a default port, as a browser's `Host` does.
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === new URL(`http://${host}`).host;
  } catch {
    return false;
  }
}
