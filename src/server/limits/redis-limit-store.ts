import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Identity } from 'graphql-rate-limit';
import { identityKey, retryAfterFrom, type LimitStore, type PointsBudget } from './limit-store.js';

// graphql-rate-limit's own RedisStore speaks node-redis v3 callbacks and does a GET, then a
// SET of the whole list: two api instances reading at once both pass and one write is lost.
// Each operation here is one Lua script, which Redis runs atomically: the read of the window
// and the record of this call (a sorted set of calls scored by time) are one step.

/** Drops expired calls, returns the rest (times), records this call, renews the key's expiry. */
const RECORD_CALL = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local prior = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local times = {}
for i = 2, #prior, 2 do times[#times + 1] = prior[i] end
return times`;

/** Spends ARGV[1] points of ARGV[2] per window ARGV[4] ms at time ARGV[3], only if they fit. */
const SPEND_POINTS = `
local points, limit, now, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
local reset = tonumber(redis.call('HGET', KEYS[1], 'reset') or '0')
if reset <= now then used = 0; reset = now + window end
local spent = used + points <= limit
if spent and points > 0 then
  used = used + points
  redis.call('HSET', KEYS[1], 'used', used, 'reset', reset)
  redis.call('PEXPIREAT', KEYS[1], reset)
end
return {spent and 1 or 0, used, tostring(reset)}`;

interface Scripts {
  omtxRecordCall(key: string, now: number, windowMs: number, member: string): Promise<string[]>;
  omtxSpendPoints(key: string, points: number, limit: number, now: number, windowMs: number): Promise<[number, number, string]>;
}

/** Counts in Redis, shared by every api instance given the same `OMTX_REDIS_URL`. */
export class RedisLimitStore implements LimitStore {
  readonly #redis: Redis & Scripts;
  readonly #instance = randomBytes(6).toString('hex');
  #sequence = 0;

  /**
   * @param windowMs the rate limits' window.
   * @param prefix keeps several deployments (or tests) apart on one Redis.
   * @param onError hears connection faults (ioredis reconnects by itself meanwhile).
   */
  constructor(
    url: string,
    private readonly windowMs: number,
    private readonly prefix = 'omtx:',
    onError: (error: Error) => void = () => {},
  ) {
    // A limit check must not hold a request for long when Redis is away: one retry, then fail.
    const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000, commandTimeout: 2_000 });
    redis.on('error', onError);
    redis.defineCommand('omtxRecordCall', { numberOfKeys: 1, lua: RECORD_CALL });
    redis.defineCommand('omtxSpendPoints', { numberOfKeys: 1, lua: SPEND_POINTS });
    this.#redis = redis as Redis & Scripts;
  }

  async getForIdentity(identity: Identity): Promise<readonly number[]> {
    // Members must be unique: two calls in the same millisecond are two calls.
    const member = `${Date.now()}:${this.#instance}:${this.#sequence++}`;
    const times = await this.#redis.omtxRecordCall(this.#callsKey(identity), Date.now(), this.windowMs, member);
    return times.map(Number);
  }

  async setForIdentity(): Promise<void> {}

  async forget(identity: Identity): Promise<void> {
    await this.#redis.zpopmax(this.#callsKey(identity), 1);
  }

  async retryAfterMs(identity: Identity, max: number, windowMs: number): Promise<number> {
    const flat = await this.#redis.zrange(this.#callsKey(identity), 0, -1, 'WITHSCORES');
    const times = flat.filter((_, i) => i % 2 === 1).map(Number);
    return retryAfterFrom(times, max, windowMs, Date.now());
  }

  async spendPoints(key: string, points: number, limit: number, windowMs: number): Promise<PointsBudget> {
    const [spent, used, reset] = await this.#redis.omtxSpendPoints(
      `${this.prefix}cost:${key}`,
      points,
      limit,
      Date.now(),
      windowMs,
    );
    return { spent: spent === 1, used, resetAt: new Date(Number(reset)) };
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  #callsKey(identity: Identity): string {
    return `${this.prefix}rate:${identityKey(identity)}`;
  }
}
