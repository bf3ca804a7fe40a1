import { BlockList, isIP } from 'node:net';
import { Resolver } from 'node:dns/promises';

/** Resolves a hostname to every address it has, IPv4 and IPv6. */
export type ResolveAll = (hostname: string) => Promise<{ address: string; family: number }[]>;

/** How long one DNS query may take, and it is not repeated. @default 2_000 // 2 seconds */
export const WEBHOOK_DNS_TIMEOUT_MS = 2_000;

/**
 * c-ares (`dns.promises.Resolver`), not `dns.lookup`: getaddrinfo runs on libuv's threadpool
 * (4 threads by default, shared with fs and crypto), so a few slow or hostile names could
 * stall the api's file and scrypt work; c-ares queries on the event loop, and each is cut off
 * after `WEBHOOK_DNS_TIMEOUT_MS`.
 */
const resolver = new Resolver({ timeout: WEBHOOK_DNS_TIMEOUT_MS, tries: 1 });

/** Answers that only say "no address of this family", not a failure. */
const NO_ADDRESS = new Set(['ENODATA', 'ENOTFOUND']);

/**
 * Every A and AAAA record of `hostname`, queried at once. c-ares does not read /etc/hosts, so
 * `localhost` and `*.localhost` (RFC 6761: always loopback) are answered by name. A name with
 * no address at all, or whose lookup failed otherwise (a timeout), rejects.
 */
export const resolveAll: ResolveAll = async (hostname) => {
  if (isLoopbackName(hostname)) {
    return [
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ];
  }
  const answers = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]);
  const addresses = answers.flatMap((answer, i) => {
    if (answer.status === 'fulfilled') return answer.value.map((address) => ({ address, family: i === 0 ? 4 : 6 }));
    if (NO_ADDRESS.has((answer.reason as NodeJS.ErrnoException).code ?? '')) return [];
    throw answer.reason;
  });
  if (addresses.length === 0) {
    const none: NodeJS.ErrnoException = new Error(`${hostname} has no address`);
    none.code = 'ENOTFOUND';
    throw none;
  }
  return addresses;
};

/** `localhost`, `*.localhost`, with or without the final dot. */
export function isLoopbackName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/** The longest webhook URL accepted. @default 2_048 // characters */
export const MAX_WEBHOOK_URL_LENGTH = 2_048;

/**
 * Addresses a webhook may never reach (unless `OMTX_WEBHOOK_ALLOW_PRIVATE`): this host,
 * private networks, link-local (cloud metadata, 169.254.169.254 and fd00:ec2::254), shared
 * and reserved ranges, multicast, documentation ranges, and the IPv6 ranges that carry an IPv4
 * address (NAT64, 6to4, Teredo, IPv4-translated). IPv4-mapped IPv6 addresses are checked as
 * the IPv4 address they carry.
 */
const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b::', 96], // NAT64: reaches IPv4 addresses we cannot see
  ['64:ff9b:1::', 48],
  ['100::', 64], // discard
  ['2001::', 32], // Teredo: tunnels to an IPv4 address it embeds
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds an IPv4 address
  ['fc00::', 7], // unique local (fd00:ec2::254 is AWS's metadata)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv6');
}

/** Names of metadata services, refused even where they do not resolve. */
const BLOCKED_HOSTNAMES = new Set(['metadata.google.internal', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

/** Whether `address` (an IP literal) is one a webhook may not reach. */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family !== 6) return true;
  const groups = ipv6Groups(address);
  if (groups === null) return true;
  // IPv4-translated, ::ffff:0:0/96 (RFC 2765): BlockList does not match this prefix, so by hand.
  if (groups.slice(0, 4).every((g) => g === 0) && groups[4] === 0xffff && groups[5] === 0) return true;
  const mapped = mappedIpv4(groups);
  if (mapped !== null) return BLOCKED.check(mapped, 'ipv4');
  return BLOCKED.check(address, 'ipv6');
}

/** The IPv4 address an IPv4-mapped (`::ffff:a.b.c.d`) or -compatible (`::a.b.c.d`) IPv6 address carries, else null. */
function mappedIpv4(groups: number[]): string | null {
  if (groups.slice(0, 5).some((g) => g !== 0) || (groups[5] !== 0 && groups[5] !== 0xffff)) return null;
  const [high, low] = [groups[6]!, groups[7]!];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** The eight 16-bit groups of an IPv6 address (zone id dropped), or null when it is not one. */
function ipv6Groups(address: string): number[] | null {
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const bytes = dotted[1]!.split('.').map(Number);
    text =
      text.slice(0, dotted.index) +
      `${((bytes[0]! << 8) | bytes[1]!).toString(16)}:${((bytes[2]! << 8) | bytes[3]!).toString(16)}`;
  }
  const [head, tail, ...rest] = text.split('::');
  if (rest.length > 0) return null;
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  const groups = tail === undefined ? left : [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

export type WebhookUrlCheck = { ok: true; url: string } | { ok: false; problem: string };

/** A name that resolved to an address a webhook may not reach: for the operator's log, never the user's answer. */
export interface BlockedResolution {
  host: string;
  address: string;
  /** At submit (`checkWebhookUrl`) or when a POST connects (`postWebhook`: DNS rebinding). */
  when: 'submit' | 'connect';
}

export interface WebhookUrlPolicy {
  /** `OMTX_WEBHOOK_ALLOW_PRIVATE`: let webhooks reach private and loopback addresses. */
  allowPrivate: boolean;
  /** @default resolveAll // c-ares, A and AAAA */
  resolve?: ResolveAll;
  /** Told the private address a name resolved to; the refusal itself does not name it. */
  onBlocked?: (blocked: BlockedResolution) => void;
}

/** The refusal of a name that resolves to a blocked address: the address is not echoed (it maps the inside network). */
export function resolvesPrivately(host: string): string {
  return `host ${host} resolves to a private or loopback address`;
}

/**
 * Checks a webhook URL at submit: http or https, no credentials, a host that resolves, and
 * every address it resolves to public (one private address is enough to refuse: a resolver
 * may hand out either). Returns the normalized URL, or what is wrong with it.
 */
export async function checkWebhookUrl(raw: string, policy: WebhookUrlPolicy): Promise<WebhookUrlCheck> {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return { ok: false, problem: `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, problem: 'must be an absolute http or https URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, problem: `must use http or https, not ${url.protocol.replace(/:$/, '')}` };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, problem: 'must not carry credentials; verify deliveries with the X-OMTX-Signature header instead' };
  }
  if (policy.allowPrivate) return { ok: true, url: url.href };
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (BLOCKED_HOSTNAMES.has(host.replace(/\.$/, '')))
    return { ok: false, problem: `must not point at a metadata service (${host})` };
  if (isIP(host) !== 0) {
    return isBlockedAddress(host)
      ? { ok: false, problem: `must not point at a private, loopback or link-local address (${host})` }
      : { ok: true, url: url.href };
  }
  if (isLoopbackName(host)) return { ok: false, problem: resolvesPrivately(host) };
  let addresses: { address: string }[];
  try {
    addresses = await (policy.resolve ?? resolveAll)(host);
  } catch {
    return { ok: false, problem: `host ${host} does not resolve` };
  }
  if (addresses.length === 0) return { ok: false, problem: `host ${host} does not resolve` };
  const blocked = addresses.find((a) => isBlockedAddress(a.address));
  if (blocked) {
    policy.onBlocked?.({ host, address: blocked.address, when: 'submit' });
    return { ok: false, problem: resolvesPrivately(host) };
  }
  return { ok: true, url: url.href };
}
