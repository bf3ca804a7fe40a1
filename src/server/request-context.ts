import { UnauthenticatedError } from '../domain/errors.js';
import type { AuthConfig } from '../auth/auth-config.js';
import type { ApiKeys } from '../auth/api-keys.js';
import { looksLikeApiKey } from '../auth/api-key-secret.js';
import type { JwtVerifier } from '../auth/jwt-verifier.js';

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

/** Who a request acts for, and until when its credential holds (a JWT's `exp`). */
export interface Authentication {
  viewer: Viewer;
  expiresAt: Date | null;
}

/** What deciding the viewer needs: the settings and the two verifiers. */
export interface AuthDeps {
  config: { auth: AuthConfig; localUser: string };
  apiKeys: ApiKeys;
  jwt: JwtVerifier | null;
}

/**
 * The one place that decides who a request acts for, over HTTP (`Authorization` header) and
 * graphql-ws (`connectionParams.authorization`, else the upgrade request's header).
 *
 * - `Bearer omtx_<prefix>_<secret>`: an API key; `Bearer <JWT>`: a token from the configured issuer.
 * - No credential: the local user when authentication is not required (loopback only, see
 *   `auth-config.ts`), else UnauthenticatedError.
 * - A credential that does not verify is always UnauthenticatedError, never the local user.
 */
export async function authenticate(deps: AuthDeps, authorization: string | null | undefined): Promise<Authentication> {
  const header = authorization?.trim() ?? '';
  if (header === '') {
    if (deps.config.auth.required) {
      throw new UnauthenticatedError('authentication required: send `Authorization: Bearer <API key or JWT>`');
    }
    return { viewer: { id: deps.config.localUser, organizationId: null, credential: 'local', apiKeyId: null }, expiresAt: null };
  }
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new UnauthenticatedError('unsupported authorization: expected `Bearer <API key or JWT>`');
  const token = match[1]!;
  if (looksLikeApiKey(token)) {
    const key = await deps.apiKeys.verify(token);
    if (!key) throw new UnauthenticatedError('invalid API key (unknown, revoked or mistyped)');
    return {
      viewer: { id: key.userId, organizationId: key.organizationId, credential: 'apiKey', apiKeyId: key.id },
      expiresAt: null,
    };
  }
  if (!deps.jwt) throw new UnauthenticatedError('invalid bearer token: this server accepts API keys (omtx_…) only');
  const identity = await deps.jwt.verify(token);
  return {
    viewer: { id: identity.userId, organizationId: identity.organizationId, credential: 'jwt', apiKeyId: null },
    expiresAt: identity.expiresAt,
  };
}
