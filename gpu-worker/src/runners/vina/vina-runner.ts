import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobError, Pocket } from '../../../../src/domain/job.js';
import { MAX_ROTATABLE_BONDS } from '../../../../src/domain/validation/limits.js';
import { inputFailure, toJobError } from '../failure.js';
import { runTool } from '../process.js';
import type {
  Availability,
  LigandReport,
  ModelRunner,
  RunHooks,
  RunnerFile,
  RunnerResult,
  ShardInput,
  ShardJob,
} from '../runner.js';
import { complexPdb, convertPoses } from './artifacts.js';
import { prepareLigand } from './ligand.js';
import { parseVinaPoses, type VinaPose } from './pdbqt.js';
import { heavyAtomsInBox, prepareReceptor, type PreparedReceptor } from './receptor.js';
import { RunLog, throwIfKilled, type ToolContext } from './tools.js';

export interface VinaRunnerOptions {
  /** @default 'vina' // Debian's autodock-vina, found on PATH */
  vinaPath?: string;
  /** @default 'obabel' // Debian's openbabel */
  obabelPath?: string;
  /** Vina `--cpu`; 0 means every core. @default 0 // os.availableParallelism() */
  cpu?: number;
  /** Per ligand, for Vina's search; the process is killed past it. @default 600_000 // 10 minutes */
  timeLimitMs?: number;
  /** Per Open Babel call (3D build, conversions). @default 60_000 // 1 minute */
  obabelTimeLimitMs?: number;
  /** Seed when the job sets none; recorded in provenance either way. @default 42 */
  defaultSeed?: number;
  /** @default 8 // Vina's own default */
  defaultExhaustiveness?: number;
  /** Vina `--num_modes` when the job sets no `numPoses`. @default 9 // Vina's own default */
  defaultNumPoses?: number;
  /** Active torsions (BRANCH records) a ligand may have. @default 32 // AutoDock's torsion-tree limit */
  maxTorsions?: number;
  /** Where per-shard work directories are made (and removed). @default os.tmpdir() */
  tmpDir?: string;
}

/**
 * A best score above this (kcal/mol) means the ligand touches nothing: Vina scores a box in
 * empty space at about −0.05 and exits 0. Any real contact with a protein scores lower.
 */
const NO_CONTACT_SCORE = -0.5;

/**
 * VINA: docking with AutoDock Vina's CLI on CPU, ligands prepared by Open Babel. The receptor
 * is prepared once per shard; each ligand runs in its own temporary directory.
 */
export class VinaRunner implements ModelRunner {
  readonly name = 'VINA' as const;
  readonly accelerator = 'CPU' as const;
  readonly needs = { proteinSequence: false, proteinStructure: true, pocket: true, ligandStructure: true };

  readonly #options: Required<VinaRunnerOptions>;
  #versions: Record<string, string> | null = null;

  constructor(options: VinaRunnerOptions = {}) {
    this.#options = {
      vinaPath: options.vinaPath ?? 'vina',
      obabelPath: options.obabelPath ?? 'obabel',
      cpu: options.cpu || availableParallelism(),
      timeLimitMs: options.timeLimitMs ?? 600_000,
      obabelTimeLimitMs: options.obabelTimeLimitMs ?? 60_000,
      defaultSeed: options.defaultSeed ?? 42,
      defaultExhaustiveness: options.defaultExhaustiveness ?? 8,
      defaultNumPoses: options.defaultNumPoses ?? 9,
      maxTorsions: options.maxTorsions ?? MAX_ROTATABLE_BONDS,
      tmpDir: options.tmpDir ?? tmpdir(),
    };
  }

  async checkAvailable(): Promise<Availability> {
    if (this.#versions) return { available: true, versions: this.#versions };
    const vina = await toolVersion(this.#options.vinaPath, ['--version'], /AutoDock Vina v?(\S+)/, 'vina', 'autodock-vina');
    if ('reason' in vina) return { available: false, reason: vina.reason };
    const obabel = await toolVersion(this.#options.obabelPath, ['-V'], /Open Babel (\S+)/, 'obabel', 'openbabel');
    if ('reason' in obabel) return { available: false, reason: obabel.reason };
    this.#versions = { vina: vina.version, obabel: obabel.version };
    return { available: true, versions: this.#versions };
  }

  async *runShard(shard: ShardInput, hooks: RunHooks = {}): AsyncIterable<LigandReport> {
    const shardDir = await mkdtemp(join(this.#options.tmpDir, 'vina-shard-'));
    try {
      const shardLog = new RunLog();
      const context: ToolContext = {
        vina: this.#options.vinaPath,
        obabel: this.#options.obabelPath,
        obabelTimeLimitMs: this.#options.obabelTimeLimitMs,
        signal: hooks.signal,
        log: shardLog,
      };
      // Faults of the whole shard become every ligand's outcome.
      let shardError: JobError | null = null;
      let prepared: {
        receptor: PreparedReceptor;
        receptorText: string;
        pocket: Pocket;
        versions: Record<string, string>;
      } | null = null;
      const availability = await this.checkAvailable();
      if (!availability.available) {
        shardError = { code: 'MODEL_UNAVAILABLE', message: availability.reason, retryable: true };
      } else {
        try {
          const pocket = checkPocket(shard.protein.pocket);
          const receptor = await prepareReceptor(context, shard.protein.structure, shardDir);
          checkPocketHasReceptor(receptor, pocket);
          prepared = { receptor, receptorText: await readFile(receptor.path, 'utf8'), pocket, versions: availability.versions };
        } catch (thrown) {
          shardError = toJobError(thrown);
        }
      }

      for (const job of shard.jobs) {
        if (hooks.signal?.aborted) return;
        if (hooks.shouldStop && (await hooks.shouldStop(job.id))) return;
        const report = prepared
          ? await this.#dock(job, shard, prepared, { ...context, log: new RunLog() }, shardLog, shardDir)
          : failed(job, shardError!, shardLog, performance.now());
        yield report;
        if (!report.outcome.ok && report.outcome.error.code === 'INTERRUPTED') return;
      }
    } finally {
      await rm(shardDir, { recursive: true, force: true });
    }
  }

  async #dock(
    item: ShardJob,
    shard: ShardInput,
    prepared: { receptor: PreparedReceptor; receptorText: string; pocket: Pocket; versions: Record<string, string> },
    context: ToolContext,
    shardLog: RunLog,
    shardDir: string,
  ): Promise<LigandReport> {
    const started = performance.now();
    const options = this.#options;
    const { pocket } = prepared;
    const seed = shard.parameters.seed ?? options.defaultSeed;
    const exhaustiveness = shard.parameters.exhaustiveness ?? options.defaultExhaustiveness;
    const numPoses = shard.parameters.numPoses ?? options.defaultNumPoses;
    context.log.note(shardLog.toString());
    const dir = await mkdtemp(join(shardDir, 'ligand-'));
    try {
      const ligand = await prepareLigand(context, item.ligand, dir, options.maxTorsions);
      const out = join(dir, 'poses.pdbqt');
      const args = [
        '--receptor', prepared.receptor.path,
        '--ligand', ligand.path,
        '--center_x', String(pocket.center[0]), '--center_y', String(pocket.center[1]), '--center_z', String(pocket.center[2]),
        '--size_x', String(pocket.size[0]), '--size_y', String(pocket.size[1]), '--size_z', String(pocket.size[2]),
        '--exhaustiveness', String(exhaustiveness),
        '--num_modes', String(numPoses),
        '--seed', String(seed),
        '--cpu', String(options.cpu),
        '--out', out,
      ]; // prettier-ignore
      const run = await runTool(options.vinaPath, args, { cwd: dir, timeLimitMs: options.timeLimitMs, signal: context.signal });
      context.log.command(options.vinaPath, args, run);
      throwIfKilled(
        run,
        'docking',
        `Vina ran past the ${options.timeLimitMs / 1000} s limit per ligand (exhaustiveness ${exhaustiveness}, ` +
          `${ligand.tree.branches} rotatable bonds); lower the exhaustiveness or dock a smaller, more rigid ligand`,
      );
      if (run.exitCode !== 0) {
        throw vinaError(run.stderr.trim() ? run.stderr : run.stdout, prepared.receptorText, await readFile(ligand.path, 'utf8'));
      }
      const poses = parseVinaPoses(await readFile(out, 'utf8').catch(() => ''));
      judgePoses(poses, pocket);

      const title = item.ligand.name ?? item.id;
      const converted = await convertPoses(context, poses, dir, title);
      const best = poses[0]!;
      const result: RunnerResult = {
        affinity: { value: best.score, unit: 'KCAL_PER_MOL', kcalPerMol: best.score, probabilityBinder: null, heads: [] },
        confidence: null,
        poses: poses.map(({ rank, score, rmsdLowerBound, rmsdUpperBound }) => ({ rank, score, rmsdLowerBound, rmsdUpperBound })),
        provenance: {
          model: 'VINA',
          tools: { ...prepared.versions },
          seed,
          exhaustiveness,
          numPoses,
          box: { center: [...pocket.center], size: [...pocket.size] },
          ligandSource: ligand.source,
          receptorSource: prepared.receptor.source,
          rotatableBonds: ligand.tree.branches,
          cpu: options.cpu,
        },
      };
      const summary = {
        jobId: item.id,
        ligand: { name: item.ligand.name, smiles: item.ligand.smiles, canonicalSmiles: item.ligand.canonicalSmiles },
        affinity: result.affinity,
        poses: result.poses,
        provenance: result.provenance,
      };
      const files: RunnerFile[] = [
        { name: 'poses.pdbqt', contentType: 'chemical/x-pdbqt', body: poses.map((pose) => pose.pdbqt).join('') },
        { name: 'poses.sdf', contentType: 'chemical/x-mdl-sdfile', body: converted.sdf },
        { name: 'complex.pdb', contentType: 'chemical/x-pdb', body: complexPdb(prepared.receptorText, converted.topPosePdb) },
        { name: 'results.json', contentType: 'application/json', body: `${JSON.stringify(summary, null, 2)}\n` },
        { name: 'log.txt', contentType: 'text/plain; charset=utf-8', body: context.log.toString() },
      ];
      return { jobId: item.id, outcome: { ok: true, result, files, runtimeSeconds: seconds(started) } };
    } catch (thrown) {
      return failed(item, toJobError(thrown), context.log, started);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

function failed(item: ShardJob, error: JobError, log: RunLog, started: number): LigandReport {
  log.note(`# ${error.code}: ${error.message}`);
  const files = [{ name: 'log.txt', contentType: 'text/plain; charset=utf-8', body: log.toString() }];
  return { jobId: item.id, outcome: { ok: false, error, files, runtimeSeconds: seconds(started) } };
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

function checkPocket(pocket: Pocket | null): Pocket {
  if (!pocket) throw inputFailure('POCKET_MISSING', 'VINA searches only inside a pocket box, and the protein has none');
  if (![...pocket.center, ...pocket.size].every(Number.isFinite) || pocket.size.some((edge) => edge <= 0)) {
    throw inputFailure('POCKET_INVALID', 'the pocket needs a finite center and three edges greater than 0 Å');
  }
  return pocket;
}

/**
 * Vina's interactions reach 8 Å: a ligand anywhere in a box with no receptor atom within that
 * distance can touch nothing, and Vina would still exit 0 (scoring about −0.05 kcal/mol).
 */
const INTERACTION_CUTOFF = 8;

/** Fails fast, before any docking, when no receptor atom is within reach of the box. */
function checkPocketHasReceptor(receptor: PreparedReceptor, pocket: Pocket): void {
  if (heavyAtomsInBox(receptor.atoms, pocket, INTERACTION_CUTOFF) > 0) return;
  const span = (axis: 'x' | 'y' | 'z') => {
    const values = receptor.atoms.map((atom) => atom[axis]);
    return `${axis} ${Math.min(...values).toFixed(1)}…${Math.max(...values).toFixed(1)}`;
  };
  throw inputFailure(
    'POCKET_EMPTY',
    `the pocket box (center ${vector(pocket.center)}, size ${pocket.size.join(' × ')} Å) has no receptor atom within ${INTERACTION_CUTOFF} Å; ` +
      `check the pocket center/size: the receptor spans ${span('x')}, ${span('y')}, ${span('z')} Å`,
  );
}

/**
 * Vina exits 0 with meaningless results in some cases; judge the scores. No pose, a best pose
 * with a positive energy (the box is smaller than the ligand: 1IEP in a 3 Å box scores
 * +7×10⁷ kcal/mol), or one with no contact (a box in empty space scores −0.05) is an error.
 */
function judgePoses(poses: VinaPose[], pocket: Pocket): void {
  const best = poses[0];
  if (!best) throw inputFailure('NO_POSES', 'Vina found no pose inside the box; check the pocket center/size (see log.txt)');
  const box = `center ${vector(pocket.center)}, size ${pocket.size.join(' × ')} Å`;
  if (best.score > 0) {
    throw inputFailure(
      'BOX_TOO_SMALL',
      `every pose Vina found clashes (best score +${formatScore(best.score)} kcal/mol): the box (${box}) is probably ` +
        'smaller than the ligand or buried in the protein; enlarge the pocket size',
    );
  }
  if (best.score > NO_CONTACT_SCORE) {
    throw inputFailure(
      'POCKET_EMPTY',
      `no pose found touching the receptor inside the box (best score ${formatScore(best.score)} kcal/mol, box ${box}); ` +
        'check the pocket center/size',
    );
  }
}

/**
 * Vina's own error, with the line that names the problem. Its parse errors quote the record
 * (" > ATOM …") but not always the file; the quoted record tells receptor from ligand.
 */
function vinaError(output: string, receptorText: string, ligandText: string): Error {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const message = lines
    .filter((line) => !line.startsWith('#'))
    .slice(-3)
    .join(' ');
  const quoted = lines
    .find((line) => line.startsWith('> '))
    ?.slice(2)
    .trim();
  const inReceptor = quoted ? receptorText.includes(quoted) : /rigid receptor/i.test(message);
  const inLigand = quoted ? ligandText.includes(quoted) : /\bligand\b/i.test(message);
  if (/pars/i.test(message) && inReceptor && !inLigand) {
    return inputFailure('RECEPTOR_INVALID', `Vina could not read the receptor: ${message}`);
  }
  if (/pars/i.test(message) && inLigand && !inReceptor) {
    return inputFailure('LIGAND_INVALID', `Vina could not read the ligand: ${message}`);
  }
  // With a fixed seed Vina is deterministic: the same input fails the same way again.
  return inputFailure('VINA_FAILED', `Vina failed: ${message || 'no message'} (see log.txt)`);
}

function vector(values: readonly number[]): string {
  return `(${values.join(', ')})`;
}

function formatScore(score: number): string {
  return Math.abs(score) >= 1e4 ? score.toExponential(1) : score.toFixed(2);
}

async function toolVersion(
  path: string,
  args: string[],
  pattern: RegExp,
  tool: string,
  debianPackage: string,
): Promise<{ version: string } | { reason: string }> {
  const install = `apt-get install ${debianPackage}`;
  try {
    const run = await runTool(path, args, { cwd: tmpdir(), timeLimitMs: 10_000 });
    const match = pattern.exec(`${run.stdout}\n${run.stderr}`);
    if (run.exitCode !== 0 || !match) {
      return {
        reason: `${tool} at ${path} did not report a version (exit ${run.exitCode ?? run.signal}); reinstall: ${install}`,
      };
    }
    return { version: match[1]! };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { reason: `${tool} is not installed (no executable "${path}"): ${install}` };
    return { reason: `${tool} at ${path} cannot run (${code ?? String(error)}): ${install}` };
  }
}
