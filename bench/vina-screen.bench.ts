/**
 * A 20-ligand VINA screen of 1IEP end to end through the hub — the real `omtx serve` process
 * (api + supervised worker + VinaRunner) on a fresh data directory, default settings, submit
 * over GraphQL, polling the batch every 200 ms — timed from sending `submitBatch` to seeing
 * COMPLETED. Baseline: a plain bash loop of the same `obabel` preparation and `vina` command
 * the runner runs (same flags, --cpu, seed, canonical SMILES, one ligand in flight as
 * OMTX_WORKER_CONCURRENCY=1 runs them). A third variant, "loop + artifacts", adds the
 * runner's per-pose PDBQT → PDB → SDF conversions (2 obabel calls a pose) to the loop, to
 * attribute the gap. Variants alternate in each round (ABC, then CBA…) because the machine is
 * shared; each round's ratio compares runs made minutes apart.
 *   npx tsx bench/vina-screen.bench.ts            (BENCH_VINA_ROUNDS=2 by default)
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRdkitChemistry } from '../src/chemistry/rdkit-chemistry.js';
import { LIGANDS } from './worker/drug-ligands.js';
import { gql, load1, machineSummary, startServe, waitForBatch, waitForModel } from './worker/processes.js';

const FIXTURE = new URL('../../shared/fixtures/vina/1iep/', import.meta.url).pathname;
const RECEPTOR_PATH = join(FIXTURE, '1iep_receptor.pdbqt');
/** 1iep_receptor.box.txt: the box of Vina's own basic_docking example. */
const POCKET = { center: [15.19, 53.903, 16.917], size: [20, 20, 20] };
const PARAMETERS = { exhaustiveness: 4, numPoses: 9, seed: 42 };
/** What the VinaRunner passes as --cpu with OMTX_VINA_CPU=0 (the default): every core. */
const CPU = availableParallelism();

/**
 * The runner's commands, verbatim (gpu-worker/src/runners/vina/{ligand,artifacts}.ts and
 * vina-runner.ts): `obabel -:SMILES --gen3d -h -opdbqt`, then vina with the same flags in the
 * same order, each in the ligand's own directory. ARTIFACTS=1 adds, per pose, `obabel -ipdbqt
 * pose.pdbqt -opdb` and `obabel -ipdb pose.pdb -h -osdf`.
 */
const LOOP_SCRIPT = `#!/usr/bin/env bash
set -u
ligands=$1 work=$2 receptor=$3 cx=$4 cy=$5 cz=$6 sx=$7 sy=$8 sz=$9
exh=\${10} modes=\${11} seed=\${12} cpu=\${13} artifacts=\${14}
TIMEFORMAT=%R
while IFS=$'\\t' read -r name smiles; do
  d="$work/$name"
  mkdir -p "$d" && cd "$d" || exit 1
  # bash's \`time\` keyword: the wall seconds of each step, for the attribution table.
  { time obabel "-:$smiles" --gen3d -h -opdbqt -O ligand.pdbqt 2>obabel.log ; } 2>>"$work/prep.times"
  { time vina --receptor "$receptor" --ligand ligand.pdbqt --center_x "$cx" --center_y "$cy" --center_z "$cz" \\
    --size_x "$sx" --size_y "$sy" --size_z "$sz" --exhaustiveness "$exh" --num_modes "$modes" --seed "$seed" \\
    --cpu "$cpu" --out poses.pdbqt >vina.log 2>&1 ; } 2>>"$work/vina.times"
  if [ "$artifacts" = 1 ]; then
    awk '/^MODEL/{n++; f=sprintf("pose-%d.pdbqt", n)} n{print > f} /^ENDMDL/{close(f)}' poses.pdbqt
    for p in pose-*.pdbqt; do
      b=\${p%.pdbqt}
      obabel -ipdbqt "$b.pdbqt" -opdb -O "$b.pdb" 2>>obabel.log
      obabel -ipdb "$b.pdb" -h -osdf -O "$b.sdf" 2>>obabel.log
    done
  fi
done < "$ligands"
`;

type Variant = 'hub' | 'loop' | 'loop+artifacts';

interface Timed {
  /** Wall seconds. */
  seconds: number;
  /** CPU seconds (user + system) of every process involved, tool children included. */
  cpu: number;
}

const CLK_TCK = 100; // Linux USER_HZ; \`getconf CLK_TCK\` on this machine

/** User + system CPU seconds of a process and of its children it has reaped (vina, obabel). */
function processCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ": state is field 3, utime/stime/cutime/cstime are fields 14–17.
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) / CLK_TCK;
}

/** The `omtx worker` children of `pid` (tsx may also run an esbuild service child: not counted). */
function workerPids(pid: number): number[] {
  const run = spawnSync('ps', ['--ppid', String(pid), '-o', 'pid=,args='], { encoding: 'utf8' });
  return run.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => / worker$/.test(line))
    .map((line) => Number(line.split(' ')[0]));
}

interface LoopRun extends Timed {
  /** Σ wall seconds of the obabel 3D builds and of the vina runs. */
  prep: number;
  vina: number;
}

interface HubRun extends Timed {
  submitSeconds: number;
  /** Submit sent → batch.startedAt (first claim). */
  toFirstClaim: number;
  /** batch.startedAt → batch.completedAt. */
  running: number;
  /** From the ligands' log.txt: seconds in each kind of tool call, and how many calls. */
  tools: { vina: number; prep: number; convert: number; convertCalls: number };
  completed: number;
}

const SUBMIT = `mutation Submit($input: SubmitBatchInput!) { submitBatch(input: $input) { batch { id } } }`;

async function runHub(ligands: { name: string; smiles: string }[]): Promise<HubRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'omtx-bench-vina-'));
  // Everything at its default (shard 4, dispatch 2, worker concurrency 1, --cpu = all cores).
  const serve = await startServe({ OMTX_DATA_DIR: dataDir, OMTX_LOG_LEVEL: 'warn' });
  try {
    await waitForModel(serve.url, 'VINA');
    const receptor = readFileSync(RECEPTOR_PATH, 'utf8');
    const input = {
      model: 'VINA',
      name: 'bench 1IEP 20 ligands',
      protein: { name: '1IEP', structure: { format: 'PDBQT', content: receptor }, pocket: POCKET },
      parameters: PARAMETERS,
      ligands,
    };
    // api + its worker child; the worker's cutime/cstime gather vina and obabel as it reaps them.
    const pids = [serve.child.pid!, ...workerPids(serve.child.pid!)];
    if (pids.length !== 2) throw new Error(`expected omtx serve and one worker child, found pids ${pids.join(', ')}`);
    const cpuBefore = pids.map(processCpu);
    const sentAtMs = Date.now();
    const started = performance.now();
    const { submitBatch } = await gql<{ submitBatch: { batch: { id: string } } }>(serve.url, SUBMIT, { input });
    const submitSeconds = (performance.now() - started) / 1000;
    const end = await waitForBatch(serve.url, submitBatch.batch.id, 200, 900_000);
    const seconds = (end.seenAt - started) / 1000;
    const cpu = pids.map(processCpu).reduce((sum, after, i) => sum + after - cpuBefore[i]!, 0);
    if (end.status !== 'COMPLETED' || end.progress.completed !== ligands.length) {
      throw new Error(`the hub's batch ended ${end.status}: ${JSON.stringify(end.progress)}`);
    }
    const startedAt = Date.parse(end.startedAt!);
    const completedAt = Date.parse(end.completedAt!);
    return {
      seconds,
      cpu,
      submitSeconds,
      toFirstClaim: (startedAt - sentAtMs) / 1000,
      running: (completedAt - startedAt) / 1000,
      tools: toolSeconds(join(dataDir, 'blobs', 'objects')),
      completed: end.progress.completed,
    };
  } finally {
    await serve.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Sums the "$ cmd … / # exit 0 after X s" records of every log.txt the runner stored. */
function toolSeconds(root: string): HubRun['tools'] {
  const tools = { vina: 0, prep: 0, convert: 0, convertCalls: 0 };
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) visit(path);
      else if (entry === 'log.txt') {
        let command = '';
        for (const line of readFileSync(path, 'utf8').split('\n')) {
          if (line.startsWith('$ ')) command = line;
          const match = /^# .* after ([\d.]+) s$/.exec(line);
          if (!match || !command) continue;
          const s = Number(match[1]);
          if (/^\$ \S*vina /.test(command)) tools.vina += s;
          else if (command.includes('--gen3d')) tools.prep += s;
          else {
            tools.convert += s;
            tools.convertCalls += 1;
          }
          command = '';
        }
      }
    }
  };
  visit(root);
  return tools;
}

async function runLoop(ligands: { name: string; smiles: string }[], artifacts: boolean): Promise<LoopRun> {
  const work = mkdtempSync(join(tmpdir(), 'omtx-bench-loop-'));
  try {
    const script = join(work, 'loop.sh');
    const list = join(work, 'ligands.tsv');
    writeFileSync(script, LOOP_SCRIPT, { mode: 0o755 });
    writeFileSync(list, ligands.map((l) => `${l.name}\t${l.smiles}\n`).join(''));
    const args = [list, work, RECEPTOR_PATH, ...POCKET.center.map(String), ...POCKET.size.map(String)];
    args.push(
      String(PARAMETERS.exhaustiveness),
      String(PARAMETERS.numPoses),
      String(PARAMETERS.seed),
      String(CPU),
      artifacts ? '1' : '0',
    );
    const started = performance.now();
    const code = await new Promise<number | null>((resolve) => {
      // GNU time reports the CPU of bash and every tool it waited for.
      const child = spawn('/usr/bin/time', ['-f', '%U %S', '-o', join(work, 'time.txt'), 'bash', script, ...args], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.once('exit', (c) => resolve(c));
    });
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`the loop exited with ${code}`);
    const docked = ligands.filter((l) =>
      /^REMARK VINA RESULT/m.test(readFileSync(join(work, l.name, 'poses.pdbqt'), 'utf8')),
    ).length;
    if (docked !== ligands.length) throw new Error(`the loop docked ${docked} of ${ligands.length} ligands`);
    const [user, system] = readFileSync(join(work, 'time.txt'), 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    const sum = (file: string) =>
      readFileSync(join(work, file), 'utf8')
        .trim()
        .split('\n')
        .map(Number)
        .reduce((x, y) => x + y, 0);
    return { seconds, cpu: user! + system!, prep: sum('prep.times'), vina: sum('vina.times') };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface VinaScreenReport {
  markdown: string;
}

export async function run(): Promise<VinaScreenReport> {
  const rounds = Number(process.env.BENCH_VINA_ROUNDS ?? 2);
  // The runner builds from the canonical SMILES the api stores; the loop gets the same string.
  const chemistry = await loadRdkitChemistry();
  // BENCH_VINA_LIGANDS=3 for a smoke run; the figures are for all 20.
  const ligands = LIGANDS.slice(0, Number(process.env.BENCH_VINA_LIGANDS ?? LIGANDS.length)).map(([name, smiles]) => {
    const parsed = chemistry.parseSmiles(smiles);
    if (!parsed) throw new Error(`RDKit cannot read ${name}`);
    return { name, smiles, canonical: parsed.canonicalSmiles };
  });
  const hubLigands = ligands.map(({ name, smiles }) => ({ name, smiles }));
  const loopLigands = ligands.map(({ name, canonical }) => ({ name, smiles: canonical }));
  const n = ligands.length;

  const withArtifacts = process.env.BENCH_VINA_ARTIFACTS === '1';
  const rows: string[] = [];
  const wallRatios: number[] = [];
  const cpuRatios: number[] = [];
  const attribution: string[] = [];
  const loopAttribution: string[] = [];
  const normalizedRatios: number[] = [];
  const order: Variant[] = withArtifacts ? ['hub', 'loop', 'loop+artifacts'] : ['hub', 'loop'];
  for (let round = 1; round <= rounds; round++) {
    const timed: Partial<Record<Variant, Timed>> = {};
    let loop: LoopRun | null = null;
    const loads: string[] = [];
    let hub: HubRun | null = null;
    // ABBA: the hub first in odd rounds, last in even ones, so a drift in load cancels out.
    for (const variant of round % 2 === 1 ? order : [...order].reverse()) {
      loads.push(`${variant} ${load1()}`);
      console.error(`round ${round}: ${variant}…`);
      if (variant === 'hub') {
        hub = await runHub(hubLigands);
        timed.hub = hub;
      } else {
        const ran = await runLoop(loopLigands, variant === 'loop+artifacts');
        timed[variant] = ran;
        if (variant === 'loop') loop = ran;
      }
      console.error(
        `round ${round}: ${variant} ${timed[variant]!.seconds.toFixed(1)} s wall, ${timed[variant]!.cpu.toFixed(1)} s CPU`,
      );
    }
    const h = timed.hub!;
    const l = timed.loop!;
    const wallRatio = l.seconds / h.seconds;
    const cpuRatio = l.cpu / h.cpu;
    wallRatios.push(wallRatio);
    cpuRatios.push(cpuRatio);
    const a = timed['loop+artifacts'];
    rows.push(
      `| ${round} | ${h.seconds.toFixed(1)} s (${(n / h.seconds).toFixed(3)}/s) | ${l.seconds.toFixed(1)} s (${(n / l.seconds).toFixed(3)}/s) | ` +
        `**${wallRatio.toFixed(3)}** ${wallRatio >= 0.95 ? 'met' : 'MISSED'} | ${h.cpu.toFixed(1)} s | ${l.cpu.toFixed(1)} s | ${cpuRatio.toFixed(3)} | ` +
        `${a ? `${a.seconds.toFixed(1)} s wall, ${a.cpu.toFixed(1)} s CPU` : 'not run'} | ${loads.join(', ')} |`,
    );
    const tool = hub!.tools.vina + hub!.tools.prep + hub!.tools.convert;
    // Time outside vina and the 3D build, in each: the part the hub adds, whatever the load.
    const hubExtra = hub!.seconds - hub!.tools.vina - hub!.tools.prep;
    const loopExtra = loop!.seconds - loop!.vina - loop!.prep;
    const normalized = l.seconds / (l.seconds + hubExtra - loopExtra);
    normalizedRatios.push(normalized);
    loopAttribution.push(
      `| ${round} | ${loop!.seconds.toFixed(1)} | ${loop!.vina.toFixed(1)} | ${loop!.prep.toFixed(1)} | ${loopExtra.toFixed(2)} | ` +
        `${hubExtra.toFixed(2)} | ${normalized.toFixed(3)} ${normalized >= 0.95 ? 'met' : 'MISSED'} |`,
    );
    console.error(`round ${round} done:\n${rows.at(-1)}\n${loopAttribution.at(-1)}`);
    attribution.push(
      `| ${round} | ${hub!.seconds.toFixed(1)} | ${hub!.submitSeconds.toFixed(2)} | ${hub!.toFirstClaim.toFixed(2)} | ${hub!.running.toFixed(1)} | ` +
        `${hub!.tools.vina.toFixed(1)} | ${hub!.tools.prep.toFixed(1)} | ${hub!.tools.convert.toFixed(1)} (${hub!.tools.convertCalls} calls) | ` +
        `${(hub!.running - tool).toFixed(1)} | ${(hub!.seconds - hub!.toFirstClaim - hub!.running).toFixed(2)} |`,
    );
    console.error(attribution.at(-1));
  }
  const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;

  const markdown = [
    `## VINA screen: ${n} ligands of 1IEP through the hub vs a plain obabel + vina loop`,
    '',
    `Settings: exhaustiveness ${PARAMETERS.exhaustiveness}, numPoses ${PARAMETERS.numPoses}, seed ${PARAMETERS.seed}, ` +
      `--cpu ${CPU}, one ligand in flight (hub defaults: OMTX_SHARD_SIZE 4, OMTX_DISPATCH_CONCURRENCY 2, ` +
      `OMTX_WORKER_CONCURRENCY 1, OMTX_VINA_CPU 0 = all cores). Hub time: submitBatch sent → COMPLETED seen ` +
      `(200 ms polls; server start-up not included). Ratio = hub throughput / loop throughput.`,
    '',
    '| round | hub wall | loop wall (baseline) | hub / loop throughput, wall (target ≥ 0.95) | hub CPU | loop CPU | loop CPU / hub CPU | loop + artifacts | load avg (1 min) at start of each |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    "Where the hub run spent its time (seconds; tool times from the runner's own log.txt per ligand):",
    '',
    '| round | submit → COMPLETED | submitBatch answer | submit → first claim | first claim → last completion | Σ vina | Σ obabel 3D prep | Σ obabel pose conversions | worker time outside tools | last completion → seen |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...attribution,
    '',
    "The same ligands and tool times in the loop, and the load-independent estimate: the hub's time outside vina and the " +
      "3D build added to the loop's own run (ratio = loop / (loop + hub extra − loop extra)):",
    '',
    '| round | loop wall | Σ vina | Σ obabel 3D prep | loop time outside those | hub time outside vina + 3D prep | estimated hub / loop at equal tool times |',
    '|---|---|---|---|---|---|---|',
    ...loopAttribution,
    '',
    `Mean over ${rounds} rounds: wall ratio ${mean(wallRatios).toFixed(3)}, CPU ratio ${mean(cpuRatios).toFixed(3)}, estimated ratio at equal tool times ${mean(normalizedRatios).toFixed(3)}. ` +
      'CPU = user + system seconds of every process of the run (api, worker, vina, obabel; bash, vina, obabel for the loop), ' +
      'which neighbours on a shared machine disturb far less than wall time.',
  ].join('\n');
  return { markdown };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  console.log(`# ${new Date().toISOString()} — ${machineSummary()}\n`);
  run().then(
    (report) => console.log(report.markdown),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
