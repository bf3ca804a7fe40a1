import { describe, expect, it } from 'vitest';
import { createRunnerRegistry, RunnerRegistry } from './registry.js';
import { VinaRunner } from './vina/vina-runner.js';
import { BoltzRunner } from './boltz/boltz-runner.js';
import { FAKE_BOLTZ, fakeCache } from './boltz/test-support.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('RunnerRegistry', () => {
  it('describes every model: VINA runnable here with its versions, BOLTZ2 without its weights with the reason', async () => {
    const registry = createRunnerRegistry({
      vinaBin: 'vina',
      obabelBin: 'obabel',
      vinaCpu: 0,
      vinaTimeLimitSeconds: 600,
      boltzBin: 'boltz',
      boltzCache: '/nonexistent/boltz-cache',
      boltzAccelerator: 'gpu',
      boltzShardTimeLimitSeconds: 1500,
    });
    expect(registry.get('VINA')?.name).toBe('VINA');
    expect(registry.get('BOLTZ2')?.accelerator).toBe('GPU');
    expect(await registry.describe()).toEqual([
      {
        name: 'BOLTZ2',
        accelerator: 'GPU',
        available: false,
        reason: expect.stringMatching(/^the Boltz-2 cache \/nonexistent\/boltz-cache lacks boltz2_conf\.ckpt, /),
        versions: {},
      },
      {
        name: 'VINA',
        accelerator: 'CPU',
        available: true,
        reason: null,
        versions: { vina: expect.any(String), obabel: expect.any(String) },
      },
    ]);
  });

  it('says BOLTZ2 can run once the weights and the executable are there', async () => {
    const cache = fakeCache(mkdtempSync(join(tmpdir(), 'omtx-boltz-cache-')));
    try {
      const registry = new RunnerRegistry([new BoltzRunner({ boltzPath: FAKE_BOLTZ, cacheDir: cache, accelerator: 'cpu' })]);
      const [boltz] = await registry.describe();
      expect(boltz).toMatchObject({ name: 'BOLTZ2', accelerator: 'CPU', available: true, reason: null });
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('lists no runner for a model a worker was built without', async () => {
    const [boltz] = await new RunnerRegistry([new VinaRunner()]).describe();
    expect(boltz).toEqual({
      name: 'BOLTZ2',
      accelerator: null,
      available: false,
      reason: 'this worker has no BOLTZ2 runner',
      versions: {},
    });
  });

  it('says why VINA cannot run when its binary is missing', async () => {
    const registry = new RunnerRegistry([new VinaRunner({ vinaPath: '/nonexistent/vina' })]);
    const [, vina] = await registry.describe();
    expect(vina).toMatchObject({
      name: 'VINA',
      available: false,
      reason: expect.stringContaining('apt-get install autodock-vina'),
    });
  });

  it('refuses two runners for one model', () => {
    expect(() => new RunnerRegistry([new VinaRunner(), new VinaRunner()])).toThrow(/two runners registered for VINA/);
  });
});
