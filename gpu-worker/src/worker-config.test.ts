import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from './worker-config.js';

describe('the worker configuration', () => {
  it('listens on Cloud Run’s PORT unless OMTX_WORKER_PORT says otherwise', () => {
    expect(loadWorkerConfig({}).port).toBe(8001);
    expect(loadWorkerConfig({ PORT: '8080' }).port).toBe(8080);
    expect(loadWorkerConfig({ PORT: '8080', OMTX_WORKER_PORT: '9000' }).port).toBe(9000);
  });

  it('runs Boltz from the cache Boltz itself would use, on the GPU, unless told otherwise', () => {
    const config = loadWorkerConfig({});
    expect(config.boltzCache).toBe(join(homedir(), '.boltz'));
    expect(config.boltzAccelerator).toBe('gpu');
    expect(loadWorkerConfig({ BOLTZ_CACHE: '/opt/boltz-cache', OMTX_BOLTZ_ACCELERATOR: 'cpu' })).toMatchObject({
      boltzCache: '/opt/boltz-cache',
      boltzAccelerator: 'cpu',
    });
  });

  it('names the variable and the allowed values when one is wrong', () => {
    expect(() => loadWorkerConfig({ OMTX_BOLTZ_ACCELERATOR: 'tpu' })).toThrow(/OMTX_BOLTZ_ACCELERATOR="tpu".*"gpu"\|"cpu"/);
  });
});
