import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { describeLimitStoreContract } from '../../src/server/limits/limit-store.contract.js';
import { MemoryLimitStore } from '../../src/server/limits/memory-limit-store.js';
import { RedisLimitStore } from '../../src/server/limits/redis-limit-store.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

describeLimitStoreContract('MemoryLimitStore', async (windowMs) => {
  const store = new MemoryLimitStore(windowMs);
  return { store, close: () => store.close() };
});

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

describeLimitStoreContract('RedisLimitStore', async (windowMs) => {
  // A prefix per test keeps each test's keys apart on the one server.
  const store = new RedisLimitStore(redis.url, windowMs, `omtx-test:${randomUUID()}:`);
  return { store, close: () => store.close() };
});
