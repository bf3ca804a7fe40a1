import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FAKE_BOLTZ, fakeCache, FIXTURE_PREDICTION } from './test-support.js';

const scratch = mkdtempSync(join(tmpdir(), 'fake-boltz-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const cache = fakeCache(join(scratch, 'cache'));

function boltz(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(FAKE_BOLTZ, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A folder of inputs, one per name, as Boltz-2 reads them. */
function inputs(entries: Record<string, { smiles?: string; ccd?: string; msa?: string | null }>): string {
  const dir = mkdtempSync(join(scratch, 'inputs-'));
  for (const [name, { msa = 'empty', ...ligand }] of Object.entries(entries)) {
    const protein = { id: 'A', sequence: 'MKV', ...(msa !== null && { msa }) };
    const input = {
      version: 1,
      sequences: [{ protein }, { ligand: { id: 'B', ...ligand } }],
      properties: [{ affinity: { binder: 'B' } }],
    };
    writeFileSync(join(dir, `${name}.yaml`), stringify(input));
  }
  return dir;
}

describe('the stand-in boltz', () => {
  it('refuses an unknown option as click does (exit 2)', () => {
    const run = boltz(['predict', scratch, '--use_msa_servr']);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(
      "Usage: boltz predict [OPTIONS] DATA\nTry 'boltz predict --help' for help.\n\nError: No such option: --use_msa_servr\n",
    );
    expect(boltz(['predict', scratch, '--seed', 'x']).stderr).toContain(
      "Error: Invalid value for '--seed': 'x' is not a valid integer.",
    );
    expect(boltz(['predict', join(scratch, 'nothing')]).status).toBe(2);
  });

  it('writes the fixture for each input it accepts, as Boltz lays it out, and skips the others with exit 0', () => {
    const out = join(scratch, 'out');
    const data = inputs({
      good: { smiles: 'CCO' },
      nomsa: { smiles: 'CCO', msa: null },
      gone: { smiles: 'CCO', msa: '/nonexistent/A.a3m' },
      both: { smiles: 'CCO', ccd: 'ATP' },
    });
    const run = boltz(['predict', data, '--out_dir', out, '--cache', cache, '--diffusion_samples', '2']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      `Failed to process ${data}/nomsa.yaml. Skipping. Error: Missing MSA's in input and --use_msa_server flag not set..\n`,
    );
    expect(run.stdout).toContain(
      `Failed to process ${data}/gone.yaml. Skipping. Error: MSA file /nonexistent/A.a3m not found..\n`,
    );
    expect(run.stdout).toContain(`Failed to process ${data}/both.yaml. Skipping. Error: .\n`);
    expect(run.stdout).toMatch(/Running structure prediction for 1 input\.\n[^]*\nPredicting property: affinity\n/);

    const results = join(out, `boltz_results_${data.split('/').pop()}`);
    expect(readdirSync(join(results, 'predictions'))).toEqual(['good']);
    expect(readdirSync(join(results, 'predictions/good')).sort()).toEqual([
      'affinity_good.json',
      'confidence_good_model_0.json',
      'confidence_good_model_1.json',
      'good_model_0.cif',
      'good_model_1.cif',
      'pae_good_model_0.npz',
      'pae_good_model_1.npz',
      'pde_good_model_0.npz',
      'pde_good_model_1.npz',
      'plddt_good_model_0.npz',
      'plddt_good_model_1.npz',
      'pre_affinity_good.npz',
    ]);
    expect(readFileSync(join(results, 'predictions/good/affinity_good.json'))).toEqual(
      readFileSync(join(FIXTURE_PREDICTION, 'affinity_1ckp_cdk2.json')),
    );
    const manifest = JSON.parse(readFileSync(join(results, 'processed/manifest.json'), 'utf8')) as { records: { id: string }[] };
    expect(manifest.records.map((record) => record.id)).toEqual(['good']);
    expect(existsSync(join(results, 'processed/records/good.json'))).toBe(true);
  });

  it('without its weights, tries to download them and fails, as Boltz does offline', () => {
    const run = boltz([
      'predict',
      inputs({ a: { smiles: 'CCO' } }),
      '--out_dir',
      join(scratch, 'out2'),
      '--cache',
      join(scratch, 'none'),
    ]);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('Downloading the CCD data to');
    expect(run.stderr).toMatch(/\nurllib\.error\.URLError: <urlopen error/);
  });
});
