import { describe, expect, it } from 'vitest';
import { createRunnerRegistry, RunnerRegistry } from './registry.js';
import { VinaRunner } from './vina/vina-runner.js';

describe('RunnerRegistry', () => {
  it('describes every model: VINA runnable here with its versions, BOLTZ2 missing with a reason', async () => {
    const registry = createRunnerRegistry({ vinaBin: 'vina', obabelBin: 'obabel', vinaCpu: 0, vinaTimeLimitSeconds: 600 });
    expect(registry.get('VINA')?.name).toBe('VINA');
    expect(registry.get('BOLTZ2')).toBeNull();
    expect(await registry.describe()).toEqual([
      { name: 'BOLTZ2', accelerator: null, available: false, reason: 'this worker has no BOLTZ2 runner', versions: {} },
      {
        name: 'VINA',
        accelerator: 'CPU',
        available: true,
        reason: null,
        versions: { vina: expect.any(String), obabel: expect.any(String) },
      },
    ]);
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
