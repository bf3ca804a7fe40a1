import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasStructure, predictionDir, predictionFiles, readPrediction } from './boltz-outputs.js';
import { boltzResult, kcalPerMolOf } from './boltz-result.js';
import {
  FIXTURE_ID,
  FIXTURE_PREDICTION,
  fixtureAffinityHeads,
  fixtureBytes,
  fixtureConfidence,
  fixtureJson,
} from './test-support.js';

const scratch = mkdtempSync(join(tmpdir(), 'boltz-outputs-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A writable copy of the fixture's prediction folder. */
function copyOfFixture(name: string): string {
  const dir = join(scratch, name);
  cpSync(FIXTURE_PREDICTION, dir, { recursive: true });
  return dir;
}

describe('Boltz-2 prediction folder', () => {
  it('is where boltz predict puts it: <out_dir>/boltz_results_<input dir>/predictions/<id>', () => {
    expect(predictionDir('/w/out', 'inputs', 'abc')).toBe('/w/out/boltz_results_inputs/predictions/abc');
  });

  it('parses the CDK2 prediction into exactly the numbers Boltz wrote', async () => {
    const prediction = await readPrediction(FIXTURE_PREDICTION, FIXTURE_ID);
    const result = boltzResult(prediction!, { model: 'BOLTZ2' });

    expect(result.confidence).toEqual(fixtureConfidence());
    expect(result.affinity).toEqual({
      ...fixtureAffinityHeads(),
      unit: 'LOG10_IC50_UM',
      kcalPerMol: expect.any(Number),
    });
    // log10 IC50 = −1.075978398323059 µM → pIC50 7.075978398323059 → ΔG ≈ −1.364 × pIC50.
    expect(result.affinity!.kcalPerMol).toBeCloseTo(-1.364 * 7.075978398323059, 12);
    expect(result.affinity!.kcalPerMol).toBeCloseTo(-9.6516, 4);
    expect(result.poses).toEqual([{ rank: 1, score: fixtureConfidence().score, rmsdLowerBound: null, rmsdUpperBound: null }]);
    expect(result.provenance).toEqual({ model: 'BOLTZ2' });
  });

  it('converts log10 IC50 in µM to kcal/mol through pIC50', () => {
    expect(kcalPerMolOf(0)).toBeCloseTo(-1.364 * 6, 12); // 1 µM
    expect(kcalPerMolOf(-3)).toBeCloseTo(-1.364 * 9, 12); // 1 nM
    expect(kcalPerMolOf(2)).toBeCloseTo(-1.364 * 4, 12); // 100 µM
  });

  it("names the files as DESIGN.md does and keeps Boltz's bytes", async () => {
    const files = predictionFiles((await readPrediction(FIXTURE_PREDICTION, FIXTURE_ID))!);
    expect(files.map(({ name, contentType }) => [name, contentType])).toEqual([
      ['structure.cif', 'chemical/x-mmcif'],
      ['confidence.json', 'application/json'],
      ['pae.npz', 'application/octet-stream'],
      ['pde.npz', 'application/octet-stream'],
      ['plddt.npz', 'application/octet-stream'],
      ['affinity.json', 'application/json'],
    ]);
    expect(files[0]!.body).toEqual(fixtureBytes(`${FIXTURE_ID}_model_0.cif`));
    expect(files[2]!.body).toEqual(fixtureBytes(`pae_${FIXTURE_ID}_model_0.npz`));
    expect(files[5]!.body).toEqual(fixtureBytes(`affinity_${FIXTURE_ID}.json`));
  });

  it('gives every diffusion sample, ranked: model_0 as structure.cif, the others with _model_k', async () => {
    const dir = copyOfFixture('two-samples');
    for (const kind of ['pae', 'pde', 'plddt']) {
      cpSync(join(dir, `${kind}_${FIXTURE_ID}_model_0.npz`), join(dir, `${kind}_${FIXTURE_ID}_model_1.npz`));
    }
    cpSync(join(dir, `${FIXTURE_ID}_model_0.cif`), join(dir, `${FIXTURE_ID}_model_1.cif`));
    const second = { ...fixtureJson(`confidence_${FIXTURE_ID}_model_0.json`), confidence_score: 0.5 };
    writeFileSync(join(dir, `confidence_${FIXTURE_ID}_model_1.json`), JSON.stringify(second));

    const prediction = (await readPrediction(dir, FIXTURE_ID))!;
    expect(boltzResult(prediction, {}).poses.map(({ rank, score }) => [rank, score])).toEqual([
      [1, fixtureJson(`confidence_${FIXTURE_ID}_model_0.json`).confidence_score],
      [2, 0.5],
    ]);
    expect(predictionFiles(prediction).map((f) => f.name)).toEqual([
      'structure.cif',
      'confidence.json',
      'pae.npz',
      'pde.npz',
      'plddt.npz',
      'structure_model_1.cif',
      'confidence_model_1.json',
      'pae_model_1.npz',
      'pde_model_1.npz',
      'plddt_model_1.npz',
      'affinity.json',
    ]);
  });

  it('is not complete while the affinity is missing or still being written', async () => {
    const dir = copyOfFixture('partial');
    const affinity = join(dir, `affinity_${FIXTURE_ID}.json`);
    const whole = fixtureBytes(`affinity_${FIXTURE_ID}.json`);
    writeFileSync(affinity, whole.subarray(0, whole.length - 3));
    expect(await readPrediction(dir, FIXTURE_ID)).toBeNull();
    rmSync(affinity);
    expect(await readPrediction(dir, FIXTURE_ID)).toBeNull();
    expect(await hasStructure(dir, FIXTURE_ID)).toBe(true);
    expect(await hasStructure(join(scratch, 'nothing-here'), FIXTURE_ID)).toBe(false);
  });
});
