import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { LigandReport } from '../runner.js';
import { BoltzRunner, type BoltzRunnerOptions } from './boltz-runner.js';
import {
  alive,
  CDK2_LIGAND,
  collect,
  failure,
  FAKE_BOLTZ,
  fakeCache,
  FIXTURE_ID,
  fixtureAffinityHeads,
  fixtureBytes,
  fixtureConfidence,
  jobId,
  parameters,
  shard,
  success,
  text,
  withEnv,
} from './test-support.js';

const scratch = mkdtempSync(join(tmpdir(), 'boltz-runner-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const cache = fakeCache(join(scratch, 'cache'));

/** A runner of the stand-in boltz on CPU, with its own temporary directory (to check it is left empty). */
function runner(options: BoltzRunnerOptions = {}): BoltzRunner {
  const tmpDir = mkdtempSync(join(scratch, 'tmp-'));
  return new BoltzRunner({ boltzPath: FAKE_BOLTZ, cacheDir: cache, accelerator: 'cpu', tmpDir, pollIntervalMs: 50, ...options });
}

/** Where the stand-in records each run's pid and argv. */
function argvFile(): string {
  return join(mkdtempSync(join(scratch, 'argv-')), 'argv.jsonl');
}

/** The predictions the stand-in ran (the availability check's `predict --help` left out). */
function runsIn(file: string): { pid: number; argv: string[] }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { pid: number; argv: string[] })
    .filter((run) => !run.argv.includes('--help'));
}

const byJob = (reports: LigandReport[]) => new Map(reports.map((r) => [r.jobId, r.outcome]));

describe('BoltzRunner availability', () => {
  it('is available with the weights in the cache and an executable that answers', async () => {
    const boltz = runner();
    expect(boltz.accelerator).toBe('CPU');
    expect(boltz.needs).toEqual({ proteinSequence: true, proteinStructure: false, pocket: false, ligandStructure: false });
    // The stand-in is a Node script, not a Python console script: its version cannot be read.
    expect(await boltz.checkAvailable()).toEqual({ available: true, versions: { boltz: 'unknown' } });
  });

  it('says which weights are missing from the cache and how to get them', async () => {
    const empty = join(scratch, 'empty-cache');
    mkdirSync(join(empty, 'mols'), { recursive: true });
    writeFileSync(join(empty, 'boltz2_conf.ckpt'), 'x');
    const availability = await runner({ cacheDir: empty }).checkAvailable();
    expect(availability).toEqual({ available: false, reason: expect.stringContaining(`the Boltz-2 cache ${empty} lacks`) });
    const reason = availability.available ? '' : availability.reason;
    expect(reason).toContain('lacks boltz2_aff.ckpt, mols.tar:');
    expect(reason).toMatch(/--cache .*huggingface\.co\/boltz-community\/boltz-2.*BOLTZ_CACHE/);
  });

  it('says how to install boltz when the executable is missing', async () => {
    expect(await runner({ boltzPath: '/nonexistent/boltz' }).checkAvailable()).toEqual({
      available: false,
      reason: expect.stringMatching(/^boltz is not installed \(no executable "\/nonexistent\/boltz"\): pip install boltz/),
    });
  });

  it('says so when the executable does not answer `boltz predict --help`', async () => {
    const broken = join(scratch, 'broken-boltz');
    writeFileSync(broken, '#!/bin/sh\necho "ModuleNotFoundError: No module named \'torch\'" >&2\nexit 1\n');
    chmodSync(broken, 0o755);
    expect(await runner({ boltzPath: broken }).checkAvailable()).toEqual({
      available: false,
      reason: expect.stringContaining("(exit 1: ModuleNotFoundError: No module named 'torch'); reinstall"),
    });
  });

  it('reads the versions of a Python console script from its interpreter’s package metadata', async (context) => {
    // As pip writes it: the interpreter's absolute path (or, when there is none, found on PATH).
    const shebang = existsSync('/usr/bin/python3') ? '#!/usr/bin/python3' : '#!/usr/bin/env python3';
    const site = join(scratch, 'site-packages');
    mkdirSync(join(site, 'boltz-2.2.0.dist-info'), { recursive: true });
    writeFileSync(join(site, 'boltz-2.2.0.dist-info/METADATA'), 'Metadata-Version: 2.1\nName: boltz\nVersion: 2.2.0\n');
    const script = join(scratch, 'python-boltz');
    writeFileSync(script, `${shebang}\nprint("Usage: boltz predict [OPTIONS] DATA")\n`);
    chmodSync(script, 0o755);
    const availability = await withEnv({ PYTHONPATH: site }, () => runner({ boltzPath: script }).checkAvailable());
    if (!availability.available && /cannot run|does not answer/.test(availability.reason)) context.skip();
    expect(availability).toEqual({ available: true, versions: expect.objectContaining({ boltz: '2.2.0' }) });
  });
});

describe('BoltzRunner predicting with the stand-in boltz', () => {
  it('runs `boltz predict` once over the shard with exactly these arguments', async () => {
    const file = argvFile();
    const boltz = runner();
    await withEnv({ FAKE_BOLTZ_ARGV_FILE: file }, () => collect(boltz.runShard(shard(['CCO', 'CCN']))));
    const [run, ...more] = runsIn(file);
    expect(more).toEqual([]);
    const [, inputDir, , outDir] = run!.argv;
    const workDir = inputDir!.slice(0, -'/inputs'.length);
    expect(workDir).toMatch(/\/boltz-shard-[^/]+$/);
    expect(run!.argv).toEqual([
      'predict', `${workDir}/inputs`,
      '--out_dir', `${workDir}/out`,
      '--cache', cache,
      '--output_format', 'mmcif',
      '--diffusion_samples', '1',
      '--sampling_steps', '200',
      '--recycling_steps', '3',
      '--seed', '42',
      '--accelerator', 'cpu',
    ]); // prettier-ignore
    expect(outDir).toBe(`${workDir}/out`);
  });

  it('passes the job’s parameters and the configured accelerator', async () => {
    const file = argvFile();
    const params = parameters({ seed: 7, diffusionSamples: 2, samplingSteps: 50, recyclingSteps: 1 });
    await withEnv({ FAKE_BOLTZ_ARGV_FILE: file }, () =>
      collect(runner({ accelerator: 'gpu' }).runShard(shard(['CCO'], { params }))),
    );
    const { argv } = runsIn(file)[0]!;
    expect(argv.slice(2).join(' ')).toMatch(
      /--diffusion_samples 2 --sampling_steps 50 --recycling_steps 1 --seed 7 --accelerator gpu$/,
    );
  });

  it('reports the CDK2 prediction with the numbers and files Boltz wrote', async () => {
    const [report, ...rest] = await collect(runner().runShard(shard([CDK2_LIGAND])));
    expect(rest).toEqual([]);
    expect(report!.jobId).toBe(jobId(0));
    const { result, files, runtimeSeconds } = success(report!.outcome);
    const confidence = fixtureConfidence();

    expect(result.confidence).toEqual(confidence);
    expect(result.affinity).toMatchObject({ ...fixtureAffinityHeads(), unit: 'LOG10_IC50_UM' });
    expect(result.affinity!.kcalPerMol).toBeCloseTo(-1.364 * 7.075978398323059, 12);
    expect(result.poses).toEqual([{ rank: 1, score: confidence.score, rmsdLowerBound: null, rmsdUpperBound: null }]);
    expect(result.provenance).toEqual({
      model: 'BOLTZ2',
      tools: { boltz: 'unknown' },
      seed: 42,
      diffusionSamples: 1,
      samplingSteps: 200,
      recyclingSteps: 3,
      msa: { mode: 'EMPTY' },
      accelerator: 'cpu',
      outputFormat: 'mmcif',
    });
    expect(runtimeSeconds).toBeGreaterThan(0);

    expect(files.map((f) => [f.name, f.contentType])).toEqual([
      ['structure.cif', 'chemical/x-mmcif'],
      ['confidence.json', 'application/json'],
      ['pae.npz', 'application/octet-stream'],
      ['pde.npz', 'application/octet-stream'],
      ['plddt.npz', 'application/octet-stream'],
      ['affinity.json', 'application/json'],
      ['results.json', 'application/json'],
      ['log.txt', 'text/plain; charset=utf-8'],
    ]);
    expect(files[0]!.body).toEqual(fixtureBytes(`${FIXTURE_ID}_model_0.cif`));
    expect(JSON.parse(text(files, 'results.json'))).toEqual({
      jobId: jobId(0),
      ligand: { name: null, smiles: CDK2_LIGAND, canonicalSmiles: CDK2_LIGAND },
      ...JSON.parse(JSON.stringify(result)),
    });
    const log = text(files, 'log.txt');
    expect(log).toMatch(/^\$ \S+boltz predict /);
    expect(log).toContain(`# input ${jobId(0)}.yaml (job ${jobId(0)}):\nversion: 1\n`);
    expect(log).toContain('Running structure prediction for 1 input.');
    expect(log).toContain('Predicting property: affinity');
  });

  it('gives one pose and one set of files per diffusion sample', async () => {
    const params = parameters({ diffusionSamples: 3 });
    const [report] = await collect(runner().runShard(shard(['CCO'], { params })));
    const { result, files } = success(report!.outcome);
    expect(result.poses.map((pose) => pose.rank)).toEqual([1, 2, 3]);
    expect(files.map((f) => f.name).filter((name) => name.startsWith('structure'))).toEqual([
      'structure.cif',
      'structure_model_1.cif',
      'structure_model_2.cif',
    ]);
    expect(result.provenance).toMatchObject({ diffusionSamples: 3 });
  });

  it('points every input at the MSA file written once, or runs single-sequence with `msa: empty`', async () => {
    const msa = { kind: 'FILE' as const, fileName: 'A.a3m' as const, content: '>query\nMENFQKVEKIGEGTYGVVYK\n' };
    const withFile = await collect(runner().runShard(shard(['CCO', 'CCN'], { msa })));
    for (const { outcome } of withFile) {
      const { result, files } = success(outcome);
      expect(result.provenance).toMatchObject({ msa: { mode: 'FILE', fileName: 'A.a3m' } });
      // The stand-in, like Boltz, refuses an input whose MSA file does not exist.
      expect(text(files, 'log.txt')).toMatch(/msa: "\/\S+\/boltz-shard-[^/]+\/msa\/A\.a3m"\n/);
      expect(text(files, 'log.txt')).not.toContain('single sequence mode');
    }
    const empty = await collect(runner().runShard(shard(['CCO'], { msa: { kind: 'EMPTY' } })));
    const { result, files } = success(empty[0]!.outcome);
    expect(result.provenance).toMatchObject({ msa: { mode: 'EMPTY' } });
    expect(text(files, 'log.txt')).toContain('msa: "empty"');
    expect(text(files, 'log.txt')).toContain(
      'Found explicit empty MSA for some proteins, will run these in single sequence mode.',
    );
  });

  it('completes the good inputs, fails a refused one and one out of memory, and retries what the affinity crash left', async () => {
    // In the stand-in's order: fine, refused, out of memory (its missing structure then
    // crashes the affinity stage), and two fine inputs the crash leaves without affinity.
    const smiles = ['CCO', 'C1CC', 'CCCCCCCCCCCCCCCCCC', 'CCN', 'CCC'];
    const reports = await withEnv({ FAKE_BOLTZ_REJECT_SMILES: 'C1CC', FAKE_BOLTZ_OOM_SMILES: 'CCCCCCCCCCCCCCCCCC' }, () =>
      collect(runner().runShard(shard(smiles))),
    );
    expect(reports.map((r) => r.jobId).sort()).toEqual(smiles.map((_, i) => jobId(i)));
    const outcomes = byJob(reports);

    success(outcomes.get(jobId(0))!);
    expect(failure(outcomes.get(jobId(1))!).error).toEqual({
      code: 'BOLTZ_INPUT_REJECTED',
      message: 'Boltz could not read this input: Failed to compute 3D conformer for C1CC (see log.txt)',
      retryable: false,
    });
    expect(failure(outcomes.get(jobId(2))!).error).toMatchObject({ code: 'OUT_OF_MEMORY', retryable: false });
    for (const crashed of [jobId(3), jobId(4)]) {
      const { error, files } = failure(outcomes.get(crashed)!);
      expect(error).toMatchObject({ code: 'BOLTZ_CRASHED', retryable: true });
      expect(error.message).toMatch(
        new RegExp(
          `^Boltz crashed \\(exit 1: FileNotFoundError: .*pre_affinity_${jobId(2)}\\.npz'\\) before finishing this ligand's affinity`,
        ),
      );
      expect(text(files, 'log.txt')).toContain('# exit 1 after');
      expect(text(files, 'log.txt')).toContain(`# BOLTZ_CRASHED: ${error.message}\n`);
    }
    // The inputs without a structure are known once the affinity stage starts, before the crash.
    const order = reports.map((r) => r.jobId);
    expect(order.indexOf(jobId(2))).toBeLessThan(order.indexOf(jobId(3)));
    expect(text(failure(outcomes.get(jobId(1))!).files, 'log.txt')).toMatch(
      new RegExp(
        `\nFailed to process \\S+/inputs/${jobId(1)}\\.yaml\\. Skipping\\. Error: Failed to compute 3D conformer for C1CC\\.\n`,
      ),
    );
  });

  it('reports each ligand as Boltz finishes it, while the process still runs, and their times add up', async () => {
    const file = argvFile();
    const boltz = runner();
    await boltz.checkAvailable(); // now cached: the clock below times the shard alone
    const started = performance.now();
    const arrivals: { jobId: string; at: number; running: boolean; runtimeSeconds: number }[] = [];
    await withEnv(
      { FAKE_BOLTZ_ARGV_FILE: file, FAKE_BOLTZ_LOAD_SECONDS: '0.5', FAKE_BOLTZ_SECONDS_PER_INPUT: '0.3' },
      async () => {
        for await (const report of boltz.runShard(shard(['CCO', 'CCN', 'CCC']))) {
          arrivals.push({
            jobId: report.jobId,
            at: (performance.now() - started) / 1000,
            running: alive(runsIn(file)[0]!.pid),
            runtimeSeconds: report.outcome.runtimeSeconds!,
          });
        }
      },
    );
    const elapsed = (performance.now() - started) / 1000;
    expect(arrivals.map((a) => a.jobId)).toEqual([jobId(0), jobId(1), jobId(2)]);
    // Two loads and two stages of 0.3 s per input before the first affinity is written.
    expect(arrivals[0]!.at).toBeGreaterThan(0.5 + 3 * 0.3 + 0.5 + 0.3 - 0.1);
    expect(arrivals[1]!.at - arrivals[0]!.at).toBeGreaterThan(0.2);
    expect(arrivals[2]!.at - arrivals[1]!.at).toBeGreaterThan(0.2);
    expect(arrivals.slice(0, 2).every((a) => a.running)).toBe(true);
    expect(arrivals[0]!.runtimeSeconds).toBeGreaterThan(2);
    const total = arrivals.reduce((sum, a) => sum + a.runtimeSeconds, 0);
    expect(Math.abs(total - arrivals[2]!.at)).toBeLessThan(0.3);
    expect(total).toBeLessThanOrEqual(elapsed);
  });
});

describe('BoltzRunner stopping', () => {
  it('asks shouldStop for every job before starting Boltz and leaves the stopped ones out', async () => {
    const file = argvFile();
    const asked: string[] = [];
    const reports = await withEnv({ FAKE_BOLTZ_ARGV_FILE: file }, () =>
      collect(
        runner().runShard(shard(['CCO', 'CCN', 'CCC']), {
          shouldStop: async (id) => {
            asked.push(id);
            expect(existsSync(file)).toBe(false);
            return id === jobId(1);
          },
        }),
      ),
    );
    expect(asked).toEqual([jobId(0), jobId(1), jobId(2)]);
    expect(reports.map((r) => r.jobId)).toEqual([jobId(0), jobId(2)]);
    expect(runsIn(file)).toHaveLength(1);
  });

  it('kills Boltz once every ligand not yet reported is cancelled, reporting none of them', { timeout: 15_000 }, async () => {
    const file = argvFile();
    let cancelled = false;
    const reports = await withEnv({ FAKE_BOLTZ_ARGV_FILE: file, FAKE_BOLTZ_SECONDS_PER_INPUT: '30' }, async () => {
      const collecting = collect(
        runner({ stopCheckMs: 50 }).runShard(shard(['CCO', 'CCN']), { shouldStop: async () => cancelled }),
      );
      await vi.waitFor(() => expect(runsIn(file)).toHaveLength(1), { timeout: 10_000, interval: 20 });
      cancelled = true;
      return collecting;
    });
    expect(reports).toEqual([]);
    await vi.waitFor(() => expect(alive(runsIn(file)[0]!.pid)).toBe(false), { timeout: 2_000 });
  });

  it('kills Boltz when aborted: every ligand not done is retryable INTERRUPTED', { timeout: 15_000 }, async () => {
    const file = argvFile();
    const controller = new AbortController();
    const reports = await withEnv({ FAKE_BOLTZ_ARGV_FILE: file, FAKE_BOLTZ_SECONDS_PER_INPUT: '30' }, async () => {
      const collecting = collect(runner().runShard(shard(['CCO', 'CCN']), { signal: controller.signal }));
      await vi.waitFor(() => expect(runsIn(file)).toHaveLength(1), { timeout: 10_000, interval: 20 });
      const aborted = performance.now();
      controller.abort();
      const all = await collecting;
      expect(performance.now() - aborted).toBeLessThan(2_000);
      return all;
    });
    expect(reports.map((r) => r.jobId)).toEqual([jobId(0), jobId(1)]);
    for (const { outcome } of reports) expect(failure(outcome).error).toMatchObject({ code: 'INTERRUPTED', retryable: true });
    expect(alive(runsIn(file)[0]!.pid)).toBe(false);
  });

  it('kills Boltz past the time limit: the ligands not done are retried, and say so', { timeout: 15_000 }, async () => {
    const reports = await withEnv({ FAKE_BOLTZ_SECONDS_PER_INPUT: '30' }, () =>
      collect(runner({ timeLimitMs: 500 }).runShard(shard(['CCO']))),
    );
    expect(failure(reports[0]!.outcome).error).toEqual({
      code: 'TIME_LIMIT',
      message:
        "Boltz ran past the shard's 0.5 s limit before finishing this ligand; the job will be retried in a shard of the ligands not done yet",
      retryable: true,
    });
  });

  it('kills Boltz and removes its files when the caller stops reading', { timeout: 15_000 }, async () => {
    const file = argvFile();
    const tmpDir = mkdtempSync(join(scratch, 'own-'));
    await withEnv({ FAKE_BOLTZ_ARGV_FILE: file, FAKE_BOLTZ_SECONDS_PER_INPUT: '0.2' }, async () => {
      for await (const report of runner({ tmpDir }).runShard(shard(['CCO', 'CCN', 'CCC', 'CCCC', 'CCCCC']))) {
        expect(report.jobId).toBe(jobId(0));
        break;
      }
    });
    expect(alive(runsIn(file)[0]!.pid)).toBe(false);
    expect(readdirSync(tmpDir)).toEqual([]);
  });
});

describe('BoltzRunner shard faults', () => {
  it('fails every ligand of a shard sent without its MSA, without starting Boltz', async () => {
    const file = argvFile();
    const reports = await withEnv({ FAKE_BOLTZ_ARGV_FILE: file }, () =>
      collect(runner().runShard(shard(['CCO', 'CCN'], { msa: null }))),
    );
    expect(reports.map((r) => r.jobId)).toEqual([jobId(0), jobId(1)]);
    for (const { outcome } of reports) {
      const { error, files } = failure(outcome);
      expect(error).toMatchObject({ code: 'MSA_MISSING', retryable: false });
      expect(error.message).toMatch(/without its MSA \(ShardInput\.msa\): a bug of the worker/);
      expect(text(files, 'log.txt')).toContain('MSA_MISSING');
    }
    expect(runsIn(file)).toEqual([]);
  });

  it('fails every ligand, retryably, when Boltz cannot run here', async () => {
    const reports = await collect(runner({ boltzPath: '/nonexistent/boltz' }).runShard(shard(['CCO', 'CCN'])));
    expect(reports).toHaveLength(2);
    for (const { outcome } of reports) {
      expect(failure(outcome).error).toMatchObject({ code: 'MODEL_UNAVAILABLE', retryable: true });
    }
  });

  it('fails every ligand when the protein has no sequence', async () => {
    const input = shard(['CCO']);
    const reports = await collect(runner().runShard({ ...input, protein: { ...input.protein, sequence: null } }));
    expect(failure(reports[0]!.outcome).error).toMatchObject({ code: 'PROTEIN_SEQUENCE_MISSING', retryable: false });
  });
});
