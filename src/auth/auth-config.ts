import { z } from 'zod';
import { isIP } from 'node:net';
import { ConfigError } from '../env-settings.js';

/** The environment variables of authentication and the production posture (spread into config's schema). */
export const authEnv = {
  // Require a credential on every request; JWT settings imply it. Without it, loopback only.
  OMTX_AUTH_REQUIRED: z.stringbool().optional(),
  // JWT bearer tokens: HS256 with a shared secret, or RS256 (and other asymmetric algorithms) from a JWKS URL.
  OMTX_JWT_SECRET: z.string().min(32, 'must be at least 32 characters (256 bits) for HS256').optional(),
  OMTX_JWT_JWKS_URL: z.url().optional(),
  OMTX_JWT_ISSUER: z.string().min(1).optional(),
  OMTX_JWT_AUDIENCE: z.string().min(1).optional(),
  OMTX_JWT_ORG_CLAIM: z.string().min(1).default('org'),
  OMTX_JWT_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  // How long a verified API key is trusted without scrypt again (revocation in this process is immediate).
  OMTX_API_KEY_CACHE_SECONDS: z.coerce.number().min(0).max(3600).default(60),
  OMTX_INTROSPECTION: z.stringbool().optional(),
  OMTX_GRAPHIQL: z.stringbool().optional(),
  OMTX_CORS_ORIGINS: z.string().optional(),
  // Bearer token Prometheus sends for /metrics; with authentication required and no token, /metrics is off.
  OMTX_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
};

export interface JwtConfig {
  /** HS256 shared secret, or null when keys come from `jwksUrl`. */
  secret: string | null;
  jwksUrl: string | null;
  issuer: string;
  audience: string;
  /** The claim naming the user's organization. @default 'org' */
  orgClaim: string;
  clockToleranceSeconds: number;
}

export interface AuthConfig {
  /** Every request needs a credential; false only on loopback (the local user acts). */
  required: boolean;
  jwt: JwtConfig | null;
  apiKeyCacheSeconds: number;
}

export interface PostureConfig {
  introspection: boolean;
  graphiql: boolean;
  /** Origins allowed to call the api from a browser; `['*']` for any (never with credentials); empty: none. */
  corsOrigins: string[];
  /**
   * What /metrics asks for: `open` (no authentication, no token), `token` (`Authorization:
   * Bearer <OMTX_METRICS_TOKEN>`) or `off` (404: authentication required but no token set).
   */
  metrics: { access: 'open' } | { access: 'token'; token: string } | { access: 'off' };
}

type AuthEnv = z.infer<z.ZodObject<typeof authEnv>>;

/**
 * Authentication settings, and the refusal to listen beyond loopback without them: a
 * deployment reachable from other machines must require a credential.
 */
export function authConfigFrom(c: AuthEnv, host: string): AuthConfig {
  const jwt = jwtConfigFrom(c);
  const required = c.OMTX_AUTH_REQUIRED ?? jwt !== null;
  assertSafeListen(host, required);
  if (c.OMTX_AUTH_REQUIRED === false && jwt !== null) {
    throw new ConfigError(
      'invalid configuration:\n  OMTX_AUTH_REQUIRED=false contradicts the OMTX_JWT_* settings: JWTs are credentials',
    );
  }
  return { required, jwt, apiKeyCacheSeconds: c.OMTX_API_KEY_CACHE_SECONDS };
}

/** Refuses to serve beyond loopback without authentication (checked at config and again at listen). */
export function assertSafeListen(host: string, authRequired: boolean): void {
  if (authRequired || isLoopback(host)) return;
  throw new ConfigError(
    `invalid configuration:\n  OMTX_HOST=${JSON.stringify(host)} is not a loopback address and authentication is off: ` +
      'anyone reaching this port would act as the local user. Set OMTX_AUTH_REQUIRED=true (API keys; ' +
      '`omtx keys create --user ID` prints the first one) and/or OMTX_JWT_SECRET or OMTX_JWT_JWKS_URL with ' +
      'OMTX_JWT_ISSUER and OMTX_JWT_AUDIENCE, or listen on 127.0.0.1.',
  );
}

function jwtConfigFrom(c: AuthEnv): JwtConfig | null {
  const any = [c.OMTX_JWT_SECRET, c.OMTX_JWT_JWKS_URL, c.OMTX_JWT_ISSUER, c.OMTX_JWT_AUDIENCE].some((v) => v !== undefined);
  if (!any) return null;
  const problems: string[] = [];
  if ((c.OMTX_JWT_SECRET === undefined) === (c.OMTX_JWT_JWKS_URL === undefined)) {
    problems.push('set exactly one of OMTX_JWT_SECRET (HS256) and OMTX_JWT_JWKS_URL (RS256 and other asymmetric keys)');
  }
  if (c.OMTX_JWT_JWKS_URL !== undefined && !isSecureJwksUrl(c.OMTX_JWT_JWKS_URL)) {
    problems.push(
      `OMTX_JWT_JWKS_URL=${JSON.stringify(c.OMTX_JWT_JWKS_URL)} must be https: (http: only on a loopback host): ` +
        'whoever can alter the key set can sign any token',
    );
  }
  if (c.OMTX_JWT_ISSUER === undefined) problems.push('OMTX_JWT_ISSUER is required with JWTs (the `iss` every token must carry)');
  if (c.OMTX_JWT_AUDIENCE === undefined)
    problems.push('OMTX_JWT_AUDIENCE is required with JWTs (the `aud` every token must carry)');
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return {
    secret: c.OMTX_JWT_SECRET ?? null,
    jwksUrl: c.OMTX_JWT_JWKS_URL ?? null,
    issuer: c.OMTX_JWT_ISSUER!,
    audience: c.OMTX_JWT_AUDIENCE!,
    orgClaim: c.OMTX_JWT_ORG_CLAIM,
    clockToleranceSeconds: c.OMTX_JWT_CLOCK_TOLERANCE_SECONDS,
  };
}

/**
 * Introspection and GraphiQL are off in a production configuration — one that requires a
 * credential, which any address but loopback does — unless turned on explicitly. Not
 * `NODE_ENV=production`: `./omtx serve` sets it for speed on the embedded default, whose
 * GraphiQL on loopback is the point. CORS allows only listed origins.
 */
export function postureConfigFrom(c: AuthEnv, auth: AuthConfig): PostureConfig {
  const locked = auth.required;
  const origins = (c.OMTX_CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  const bad = origins.filter((o) => o !== '*' && !isOrigin(o));
  if (bad.length > 0 || (origins.includes('*') && origins.length > 1)) {
    throw new ConfigError(
      `invalid configuration:\n  OMTX_CORS_ORIGINS=${JSON.stringify(c.OMTX_CORS_ORIGINS)}: expected "*" alone or ` +
        `comma-separated origins like https://lab.example.org (scheme, host, optional port, no path)` +
        (bad.length > 0 ? `; not an origin: ${bad.join(', ')}` : ''),
    );
  }
  const token = c.OMTX_METRICS_TOKEN;
  return {
    introspection: c.OMTX_INTROSPECTION ?? !locked,
    graphiql: c.OMTX_GRAPHIQL ?? !locked,
    corsOrigins: origins,
    metrics: token !== undefined ? { access: 'token', token } : auth.required ? { access: 'off' } : { access: 'open' },
  };
}

function isSecureJwksUrl(text: string): boolean {
  const url = new URL(text);
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname));
}

function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === text;
  } catch {
    return false;
  }
}

/** 127.0.0.0/8, ::1, `localhost` (and IPv4-mapped loopback). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}
