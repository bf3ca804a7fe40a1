import { describe, expect, it } from 'vitest';
import { pbkdf2, pbkdf2Sync } from 'node:crypto';
import {
  checkWebhookUrl,
  isBlockedAddress,
  resolveAll,
  WEBHOOK_DNS_TIMEOUT_MS,
  type BlockedResolution,
} from '../../src/webhooks/url-policy.js';

describe('isBlockedAddress', () => {
  it.each([
    ['an IPv4-translated loopback', '::ffff:0:7f00:1'],
    ['an IPv4-translated public address', '::ffff:0:808:808'],
    ['Teredo', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
    ['an IPv4-mapped loopback', '::ffff:127.0.0.1'],
    ['NAT64', '64:ff9b::a00:1'],
  ])('blocks %s (%s)', (_what, address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });

  it.each(['8.8.8.8', '2001:4860:4860::8888', '2606:4700::1111', '::ffff:8.8.8.8'])('lets the public %s through', (address) => {
    expect(isBlockedAddress(address)).toBe(false);
  });
});

describe('checkWebhookUrl', () => {
  it('refuses a name that resolves to a private address without naming the address, and tells the operator', async () => {
    const told: BlockedResolution[] = [];
    const check = await checkWebhookUrl('https://hooks.example.org/omtx', {
      allowPrivate: false,
      resolve: async () => [
        { address: '93.184.215.14', family: 4 },
        { address: '10.20.30.40', family: 4 },
      ],
      onBlocked: (blocked) => told.push(blocked),
    });
    expect(check).toEqual({ ok: false, problem: 'host hooks.example.org resolves to a private or loopback address' });
    expect(told).toEqual([{ host: 'hooks.example.org', address: '10.20.30.40', when: 'submit' }]);
  });

  it.each(['http://localhost:8080/hook', 'http://LOCALHOST./hook', 'http://api.localhost/hook'])(
    'refuses %s as loopback by its name, without a lookup',
    async (url) => {
      let lookups = 0;
      const check = await checkWebhookUrl(url, {
        allowPrivate: false,
        resolve: async () => {
          lookups += 1;
          return [{ address: '93.184.215.14', family: 4 }];
        },
      });
      expect(check).toMatchObject({ ok: false, problem: expect.stringMatching(/resolves to a private or loopback address$/) });
      expect(lookups).toBe(0);
    },
  );

  it('checks a literal address without a lookup', async () => {
    const check = await checkWebhookUrl('http://[::ffff:0:7f00:1]/hook', {
      allowPrivate: false,
      resolve: () => Promise.reject(new Error('no lookup expected')),
    });
    expect(check).toEqual({
      ok: false,
      problem: 'must not point at a private, loopback or link-local address (::ffff:0:7f00:1)',
    });
  });
});

describe('resolveAll', () => {
  it('answers localhost and *.localhost as loopback by name (c-ares reads no /etc/hosts)', async () => {
    for (const name of ['localhost', 'app.localhost', 'localhost.']) {
      expect(await resolveAll(name)).toEqual([
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ]);
    }
  });

  it("settles while libuv's threadpool is busy: it queries with c-ares, not getaddrinfo", async () => {
    // Calibrate pbkdf2 so that four of them (the default pool size) hold every thread past the DNS timeout.
    const started = performance.now();
    pbkdf2Sync('x', 'salt', 20_000, 32, 'sha256');
    const iterations = Math.ceil((20_000 * (WEBHOOK_DNS_TIMEOUT_MS + 500)) / Math.max(1, performance.now() - started));
    // A lookup on the pool would wait for the first of them to end.
    let threadFreeAt = Infinity;
    const busy = Array.from(
      { length: 4 },
      () => new Promise<void>((resolve) => pbkdf2('x', 'salt', iterations, 32, 'sha256', () => resolve())),
    );
    void Promise.race(busy).then(() => (threadFreeAt = performance.now()));

    let settledAt = Infinity;
    // `.invalid` never resolves (RFC 6761): the answer is a quick NXDOMAIN, or at worst the timeout.
    await expect(resolveAll('omtx-hub-test.invalid').finally(() => (settledAt = performance.now()))).rejects.toThrow();
    await Promise.all(busy);
    expect(settledAt).toBeLessThan(threadFreeAt);
  }, 30_000);
});
