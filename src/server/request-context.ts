import type { IncomingMessage } from 'node:http';

export interface Viewer {
  /** The user every record is owned by. */
  id: string;
  /** The user's organization: records shared with it are visible to its members. */
  organizationId: string | null;
  /** How the request proved who it is; `local` is the embedded default's user on loopback. */
  credential: 'local' | 'apiKey' | 'jwt';
  /** The API key's id when `credential` is `apiKey` (revoking it ends its sockets too). */
  apiKeyId: string | null;
}

/**
 * Who a request acts for. In embedded mode every request is the configured local user;
 * the security work replaces this one function (API keys, JWTs) and nothing else.
 */
export function viewerFor(_request: IncomingMessage | undefined, localUser: string): Viewer {
  return { id: localUser, organizationId: null, credential: 'local', apiKeyId: null };
}
