/** What Cloud Tasks puts in the OIDC token it attaches to a dispatch. */
export interface OidcTokenRequest {
  serviceAccountEmail: string;
  audience: string;
}

/** Real Google ID tokens live an hour. @default 3_600 // seconds */
const TOKEN_LIFETIME_S = 3_600;

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * An UNSIGNED JWT (`alg: none`, empty signature) shaped like the Google-signed ID token Cloud
 * Tasks sends: `aud` is the requested audience, `email` the service account. Tests read its
 * claims; a verifier that checks signatures must refuse it, as it should any unsigned token.
 */
export function fakeOidcToken({ serviceAccountEmail, audience }: OidcTokenRequest, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header = { alg: 'none', typ: 'JWT' };
  const claims = {
    iss: 'https://accounts.google.com',
    aud: audience,
    azp: serviceAccountEmail,
    sub: serviceAccountEmail,
    email: serviceAccountEmail,
    email_verified: true,
    iat,
    exp: iat + TOKEN_LIFETIME_S,
  };
  return `${base64url(header)}.${base64url(claims)}.`;
}
