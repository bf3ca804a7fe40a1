import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { UnauthenticatedError } from '../domain/errors.js';
import type { JwtConfig } from './auth-config.js';

export interface JwtIdentity {
  userId: string;
  organizationId: string | null;
  /** When the token stops being valid (a socket authenticated with it is closed then). */
  expiresAt: Date | null;
}

/**
 * Verifies bearer JWTs: HS256 against a shared secret, or RS256/ES256/EdDSA against the
 * keys of a JWKS URL (fetched on demand, cached and refreshed by jose). Signature, `iss`,
 * `aud` and `exp` are always checked (a token without `exp` is refused); `sub` is the user
 * and the configured claim (`org` by default) the organization.
 */
export class JwtVerifier {
  private readonly key: Uint8Array | JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(private readonly config: JwtConfig) {
    if (config.secret !== null) {
      this.key = new TextEncoder().encode(config.secret);
      this.algorithms = ['HS256'];
    } else {
      this.key = createRemoteJWKSet(new URL(config.jwksUrl!), { timeoutDuration: 5_000, cooldownDuration: 30_000 });
      this.algorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'];
    }
  }

  async verify(token: string): Promise<JwtIdentity> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key as Uint8Array, {
        algorithms: this.algorithms,
        issuer: this.config.issuer,
        audience: this.config.audience,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: this.config.clockToleranceSeconds,
      }));
    } catch (error) {
      throw new UnauthenticatedError(`invalid bearer token: ${reason(error)}`);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '' || payload.sub.length > 200) {
      throw new UnauthenticatedError('invalid bearer token: `sub` must name the user (1 to 200 characters)');
    }
    const org = payload[this.config.orgClaim];
    if (org !== undefined && org !== null && (typeof org !== 'string' || org === '' || org.length > 200)) {
      throw new UnauthenticatedError(`invalid bearer token: the \`${this.config.orgClaim}\` claim must be a non-empty string`);
    }
    return {
      userId: payload.sub,
      organizationId: typeof org === 'string' ? org : null,
      expiresAt: typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : null,
    };
  }
}

/** What went wrong, in words a client can act on, without echoing the token. */
function reason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed)
    return `claim \`${error.claim}\` ${error.reason === 'check_failed' ? 'does not match' : error.reason}`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature does not verify';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key of the JWKS matches';
  if (error instanceof errors.JWKSTimeout) return 'the JWKS did not answer in time';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed';
  if (error instanceof errors.JOSEError) return error.code;
  return 'could not be verified';
}
