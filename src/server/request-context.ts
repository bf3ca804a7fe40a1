import type { IncomingMessage } from 'node:http';

export interface Viewer {
  id: string;
}

/**
 * Who a request acts for. In embedded mode every request is the configured local user;
 * the security work replaces this one function (API keys, JWTs) and nothing else.
 */
export function viewerFor(_request: IncomingMessage | undefined, localUser: string): Viewer {
  return { id: localUser };
}
