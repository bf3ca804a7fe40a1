import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * API key text: `omtx_<prefix>_<secret>`. The prefix (12 hex characters) names the key in
 * listings and logs and finds its record; the secret (32 random bytes, base64url) is shown
 * once and stored only as an scrypt hash with its own salt.
 */
const KEY_PATTERN = /^omtx_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** scrypt's cost: about 50 ms of one core, 16 MiB. @default N=16384, r=8, p=1 */
const COST = { N: 16_384, r: 8, p: 1 } as const;
const HASH_BYTES = 32;

export interface ParsedApiKey {
  prefix: string;
  secret: string;
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith('omtx_');
}

export function parseApiKey(token: string): ParsedApiKey | null {
  const match = KEY_PATTERN.exec(token);
  return match ? { prefix: match[1]!, secret: match[2]! } : null;
}

export function newApiKeyText(): { text: string; prefix: string; secret: string } {
  const prefix = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { text: `omtx_${prefix}_${secret}`, prefix, secret };
}

function scryptAsync(secret: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, HASH_BYTES, { ...options, maxmem: 64 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** `scrypt$N$r$p$salt$hash`, hex: the parameters travel with the hash, so they can change later. */
export async function hashApiKeySecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(secret, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('hex'), hash.toString('hex')].join('$');
}

/** Compares in constant time; a malformed stored hash never verifies. */
export async function verifyApiKeySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'hex');
  if (expected.length !== HASH_BYTES) return false;
  const actual = await scryptAsync(secret, Buffer.from(salt, 'hex'), { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(actual, expected);
}
