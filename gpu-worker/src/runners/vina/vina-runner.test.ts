import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRdkitModule } from '../../../../src/chemistry/rdkit-module.js';
import type { LigandOutcome } from '../runner.js';
import { heavyAtomRmsd, parseAtoms, parseVinaPoses } from './pdbqt.js';
import { collect, file, fixture, IMATINIB, ligand, parameters, protein, shard } from './test-support.js';
import { VinaRunner } from './vina-runner.js';

const scratch = mkdtempSync(join(tmpdir(), 'vina-runner-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const runner = new VinaRunner({ tmpDir: scratch });
const receptor = { format: 'PDBQT' as const, content: fixture('1iep_receptor.pdbqt') };
const crystal = { format: 'PDBQT' as const, content: fixture('1iep_ligand.pdbqt') };

async function dockOne(options: {
  run?: VinaRunner;
  receptor?: Parameters<typeof protein>[0];
  pocket?: Parameters<typeof protein>[1];
  ligand?: ReturnType<typeof ligand>;
  exhaustiveness?: number;
}): Promise<LigandOutcome> {
  const reports = await collect(
    (options.run ?? runner).runShard(
      shard(
        protein(options.receptor === undefined ? receptor : options.receptor, options.pocket),
        [options.ligand ?? ligand(IMATINIB, crystal, 'imatinib')],
        parameters({ exhaustiveness: options.exhaustiveness ?? 1 }),
      ),
    ),
  );
  expect(reports).toHaveLength(1);
  return reports[0]!.outcome;
}

function failure(outcome: LigandOutcome) {
  if (outcome.ok) throw new Error(`expected a failure, got a result scoring ${outcome.result.affinity?.value}`);
  return outcome.error;
}

function success(outcome: LigandOutcome) {
  if (!outcome.ok) throw new Error(`expected a result, got ${outcome.error.code}: ${outcome.error.message}`);
  return outcome;
}

/** Records in an SD file and the hydrogens of each. */
function sdRecords(sdf: string): { hydrogens: number; fields: string }[] {
  return sdf
    .split('$$$$\n')
    .filter((record) => record.trim())
    .map((record) => {
      const lines = record.split('\n');
      const atoms = Number(lines[3]!.slice(0, 3));
      const hydrogens = lines.slice(4, 4 + atoms).filter((line) => line.slice(31, 34).trim() === 'H').length;
      return { hydrogens, fields: record.slice(record.indexOf('M  END')) };
    });
}

describe('VinaRunner availability', () => {
  it('reports the versions of vina and obabel', async () => {
    const availability = await runner.checkAvailable();
    expect(availability).toEqual({
      available: true,
      versions: { vina: expect.stringMatching(/^\d+\.\d+/), obabel: expect.stringMatching(/^\d+\.\d+/) },
    });
  });

  it('says how to install a missing vina', async () => {
    const missing = new VinaRunner({ vinaPath: '/nonexistent/vina', tmpDir: scratch });
    const availability = await missing.checkAvailable();
    expect(availability).toEqual({ available: false, reason: expect.stringContaining('apt-get install autodock-vina') });
    expect(availability.available || availability.reason).toMatch(/vina is not installed/);
  });

  it('says how to install a missing obabel', async () => {
    const missing = new VinaRunner({ obabelPath: '/nonexistent/obabel', tmpDir: scratch });
    expect(await missing.checkAvailable()).toEqual({
      available: false,
      reason: expect.stringContaining('apt-get install openbabel'),
    });
  });

  it('fails every ligand of a shard with a retryable error when the tools are missing', async () => {
    const missing = new VinaRunner({ vinaPath: '/nonexistent/vina', tmpDir: scratch });
    const reports = await collect(missing.runShard(shard(protein(receptor), [ligand('CCO'), ligand('CCN')])));
    expect(reports.map((r) => r.jobId)).toEqual(['job-0', 'job-1']);
    for (const report of reports) expect(failure(report.outcome)).toMatchObject({ code: 'MODEL_UNAVAILABLE', retryable: true });
  });
});

describe('VinaRunner docking 1IEP (real vina and obabel)', () => {
  it(
    'redocks the crystal ligand within 2 Å and 0.5 kcal/mol of the reference (slow: exhaustiveness 8)',
    { timeout: 300_000 },
    async () => {
      const started = performance.now();
      const { result, files } = success(await dockOne({ exhaustiveness: 8 }));
      const seconds = (performance.now() - started) / 1000;
      const top = parseVinaPoses(file(files, 'poses.pdbqt'))[0]!;
      const rmsd = heavyAtomRmsd(parseAtoms(crystal.content), parseAtoms(top.pdbqt));
      console.info(
        `redock 1IEP: ${result.affinity?.value} kcal/mol, heavy-atom RMSD ${rmsd.toFixed(2)} Å, ${seconds.toFixed(1)} s`,
      );

      expect(result.affinity).toEqual({
        value: top.score,
        unit: 'KCAL_PER_MOL',
        kcalPerMol: top.score,
        probabilityBinder: null,
        heads: [],
      });
      expect(Math.abs(top.score - -13.234)).toBeLessThan(0.5);
      expect(rmsd).toBeLessThan(2);
      expect(result.confidence).toBeNull();
      expect(result.poses[0]).toEqual({ rank: 1, score: top.score, rmsdLowerBound: 0, rmsdUpperBound: 0 });
      expect(result.provenance).toMatchObject({
        model: 'VINA',
        tools: { vina: expect.any(String), obabel: expect.any(String) },
        seed: 42,
        exhaustiveness: 8,
        numPoses: 9,
        box: { center: [15.19, 53.903, 16.917], size: [20, 20, 20] },
        ligandSource: 'structure',
      });

      expect(files.map((f) => f.name).sort()).toEqual(['complex.pdb', 'log.txt', 'poses.pdbqt', 'poses.sdf', 'results.json']);
      // One SD record per pose, each with every hydrogen (imatinib, protonated: 32) and its score.
      const records = sdRecords(file(files, 'poses.sdf'));
      expect(records).toHaveLength(result.poses.length);
      records.forEach((record, index) => {
        expect(record.hydrogens).toBe(32);
        expect(record.fields).toContain(`> <vina_affinity_kcal_per_mol>\n${result.poses[index]!.score}\n`);
      });
      // The SD file reads in RDKit, the protonated piperazine keeping its charge.
      const rdkit = await loadRdkitModule();
      const firstRecord = `${file(files, 'poses.sdf').split('$$$$\n')[0]}$$$$\n`;
      const mol = rdkit.get_mol(firstRecord);
      expect(mol?.is_valid()).toBe(true);
      expect(mol!.get_smiles()).toMatch(/\[NH?\+\]/);
      mol!.delete();

      const complex = file(files, 'complex.pdb');
      expect(complex.match(/^ATOM /gm)).toHaveLength(2702);
      expect(complex).toMatch(/^HETATM.{11}LIG L/m);
      expect(complex).toMatch(/^CONECT/m);
      expect(JSON.parse(file(files, 'results.json'))).toMatchObject({ jobId: 'job-0', poses: result.poses });
      expect(file(files, 'log.txt')).toContain('AutoDock Vina');
    },
  );

  it('docks imatinib built from its SMILES by Open Babel (slow: exhaustiveness 8)', { timeout: 300_000 }, async () => {
    const { result, files } = success(await dockOne({ ligand: ligand(IMATINIB, null, 'imatinib'), exhaustiveness: 8 }));
    const poses = join(scratch, 'smiles-poses.sdf');
    writeFileSync(poses, `${file(files, 'poses.sdf').split('$$$$\n')[0]}$$$$\n`);
    const crystalSdf = join(scratch, 'crystal.sdf');
    writeFileSync(crystalSdf, fixture('1iep_ligand.sdf'));
    // obrms: symmetry-aware heavy-atom RMSD; atom order differs from the crystal file here.
    const obrms = execFileSync('obrms', [crystalSdf, poses], { encoding: 'utf8' });
    console.info(`SMILES route: ${result.affinity?.value} kcal/mol; obrms vs crystal: ${obrms.trim()}`);
    expect(result.provenance).toMatchObject({ ligandSource: 'smiles' });
    expect(result.affinity!.value).toBeLessThan(-8);
    expect(sdRecords(file(files, 'poses.sdf'))).toHaveLength(result.poses.length);
  });

  it('converts a plain PDB receptor without its waters and HETATM records', { timeout: 60_000 }, async () => {
    const water = 'HETATM 9001  O   HOH A 901      15.190  53.903  16.917  1.00  0.00           O  ';
    const pdb = `${fixture('1iep_receptorH.pdb').replace(/^END\s*$/m, '')}${water}\nEND\n`;
    const { result, files } = success(await dockOne({ receptor: { format: 'PDB', content: pdb } }));
    expect(result.provenance).toMatchObject({ receptorSource: 'PDB' });
    expect(result.affinity!.value).toBeLessThan(-8);
    expect(file(files, 'complex.pdb')).not.toContain('HOH');
  });

  it('docks a ligand given as SDF', { timeout: 60_000 }, async () => {
    const sdf = { format: 'SDF' as const, content: fixture('1iep_ligand.sdf') };
    const { result } = success(await dockOne({ ligand: ligand(IMATINIB, sdf) }));
    expect(result.provenance).toMatchObject({ ligandSource: 'structure' });
    expect(result.affinity!.value).toBeLessThan(-8);
  });
});

describe('VinaRunner silent failures', () => {
  it('refuses a receptor that is not a structure', async () => {
    const error = failure(await dockOne({ receptor: { format: 'PDBQT', content: 'hello world\n' } }));
    expect(error).toMatchObject({ code: 'RECEPTOR_INVALID', retryable: false });
    expect(error.message).toMatch(/no ATOM or HETATM records/);
  });

  it('refuses a receptor PDB that Open Babel cannot read', async () => {
    const error = failure(await dockOne({ receptor: { format: 'PDB', content: 'HEADER    NOTHING\nEND\n' } }));
    expect(error).toMatchObject({ code: 'RECEPTOR_INVALID', retryable: false });
  });

  it('refuses a plain PDB given as PDBQT, which Vina would score with wrong atom types', async () => {
    const error = failure(await dockOne({ receptor: { format: 'PDBQT', content: fixture('1iep_receptorH.pdb') } }));
    expect(error).toMatchObject({ code: 'RECEPTOR_NOT_PDBQT', retryable: false });
    expect(error.message).toMatch(/looks like plain PDB: submit it with format PDB/);
  });

  it('reports a receptor line Vina cannot parse with its own message', async () => {
    const broken = receptor.content.replace(/ OA\n/, ' Qq\n');
    const error = failure(await dockOne({ receptor: { format: 'PDBQT', content: broken } }));
    expect(error).toMatchObject({ code: 'RECEPTOR_INVALID', retryable: false });
    expect(error.message).toMatch(/^Vina could not read the receptor/);
  });

  it('refuses a box far from the protein before docking, for every ligand of the shard', async () => {
    const pocket = { center: [100, 100, 100] as [number, number, number], size: [20, 20, 20] as [number, number, number] };
    const reports = await collect(runner.runShard(shard(protein(receptor, pocket), [ligand('CCO'), ligand(IMATINIB)])));
    expect(reports).toHaveLength(2);
    for (const { outcome } of reports) {
      const error = failure(outcome);
      expect(error).toMatchObject({ code: 'POCKET_EMPTY', retryable: false });
      expect(error.message).toMatch(/has no receptor atom within 8 Å; check the pocket center\/size/);
    }
  });

  it('refuses the huge positive scores of a box smaller than the ligand', { timeout: 60_000 }, async () => {
    const pocket = { center: [15.19, 53.903, 16.917] as [number, number, number], size: [3, 3, 3] as [number, number, number] };
    const error = failure(await dockOne({ pocket }));
    expect(error).toMatchObject({ code: 'BOX_TOO_SMALL', retryable: false });
    expect(error.message).toMatch(/enlarge the pocket size/);
  });

  it('refuses the near-zero scores of a box that touches no receptor atom', { timeout: 60_000 }, async () => {
    // One receptor atom just inside the box corner: the box is not empty, but the ligand
    // has nothing to bind to; Vina scores about −0.05 and exits 0.
    const lone = receptor.content.split('\n').find((line) => line.startsWith('ATOM') && line.endsWith(' C '))!;
    const [x, y, z] = [30, 38, 46].map((start) => parseFloat(lone.slice(start, start + 8)));
    const pocket = {
      center: [x! + 30, y! + 30, z! + 30] as [number, number, number],
      size: [20, 20, 20] as [number, number, number],
    };
    const far = { ...pocket, center: pocket.center };
    const alone = `${lone.slice(0, 30)}${fmt(x! + 21)}${fmt(y! + 21)}${fmt(z! + 21)}${lone.slice(54)}\n`;
    const error = failure(await dockOne({ receptor: { format: 'PDBQT', content: alone }, pocket: far }));
    expect(error).toMatchObject({ code: 'POCKET_EMPTY', retryable: false });
    expect(error.message).toMatch(/no pose found touching the receptor/);
  });

  it('refuses a ligand with more torsions than Vina searches', async () => {
    const error = failure(await dockOne({ ligand: ligand('C'.repeat(40)) }));
    expect(error).toMatchObject({ code: 'TOO_MANY_TORSIONS', retryable: false });
    expect(error.message).toMatch(/37 rotatable bonds; Vina searches at most 32/);
  });

  it('turns a SMILES Open Babel cannot build into a clear error', async () => {
    const error = failure(await dockOne({ ligand: ligand('C1CC') }));
    expect(error).toMatchObject({ code: 'LIGAND_PREPARATION_FAILED', retryable: false });
    expect(error.message).toMatch(/could not build a 3D structure from the SMILES/);
  });

  it('refuses a salt, which Open Babel writes as several torsion trees', async () => {
    const error = failure(await dockOne({ ligand: ligand('CC(=O)[O-].[Na+]') }));
    expect(error).toMatchObject({ code: 'LIGAND_MULTIPLE_FRAGMENTS', retryable: false });
  });

  it('kills a docking that runs past the time limit', { timeout: 60_000 }, async () => {
    const hasty = new VinaRunner({ tmpDir: scratch, timeLimitMs: 300 });
    const error = failure(await dockOne({ run: hasty, exhaustiveness: 8 }));
    expect(error).toMatchObject({ code: 'TIME_LIMIT', retryable: false });
    expect(error.message).toMatch(/0\.3 s limit per ligand/);
  });
});

describe('VinaRunner shards', () => {
  it('stops between ligands when asked and reports only the ligands it ran', async () => {
    const asked: string[] = [];
    const ligands = [ligand('C1CC'), ligand('C1CCC'), ligand('C1CCCC')];
    const reports = await collect(
      runner.runShard(shard(protein(receptor), ligands), {
        shouldStop: (jobId) => {
          asked.push(jobId);
          return asked.length > 1;
        },
      }),
    );
    expect(asked).toEqual(['job-0', 'job-1']);
    expect(reports.map((r) => r.jobId)).toEqual(['job-0']);
  });

  it('kills the running docking when aborted and ends the shard with a retryable error', { timeout: 60_000 }, async () => {
    const controller = new AbortController();
    const reports: Awaited<ReturnType<typeof collect>> = [];
    const started = collect(
      runner.runShard(
        shard(protein(receptor), [ligand(IMATINIB, crystal), ligand(IMATINIB, crystal)], parameters({ exhaustiveness: 8 })),
        {
          signal: controller.signal,
        },
      ),
    ).then((all) => reports.push(...all));
    setTimeout(() => controller.abort(), 1_000);
    await started;
    expect(reports).toHaveLength(1);
    expect(failure(reports[0]!.outcome)).toMatchObject({ code: 'INTERRUPTED', retryable: true });
  });

  it('leaves no temporary files behind, even when the caller stops reading early', async () => {
    const own = mkdtempSync(join(scratch, 'own-'));
    const tidy = new VinaRunner({ tmpDir: own });
    for await (const report of tidy.runShard(shard(protein(receptor), [ligand('C1CC'), ligand('CCO')]))) {
      expect(report.jobId).toBe('job-0');
      break;
    }
    expect(readdirSync(own)).toEqual([]);
    // Every docking above ran under `scratch`: none left its shard directory.
    expect(readdirSync(scratch).filter((name) => name.startsWith('vina-shard-'))).toEqual([]);
  });
});

function fmt(value: number): string {
  return value.toFixed(3).padStart(8);
}
