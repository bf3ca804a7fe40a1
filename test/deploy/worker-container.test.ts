import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig, workerEnvSchema } from '../../gpu-worker/src/worker-config.js';
import {
  child,
  children,
  containerOf,
  evaluate,
  loadTerraform,
  resource,
  serviceEnv as terraformEnv,
  type Block,
} from './terraform-config.js';

/**
 * The L4 container cannot be built here (no Docker engine) and the service cannot be deployed,
 * so this checks what can go wrong between them and the code: gpu-worker/Dockerfile against the
 * worker's configuration schema, the TypeScript build and the `./omtx` launcher; the Cloud Run
 * service in deploy/terraform/run-worker.tf against the worker and Cloud Run's GPU rules; and it starts the
 * worker with the image's command and environment and probes it as Cloud Run would.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCKERFILE = 'gpu-worker/Dockerfile';

/** Cloud Tasks' longest dispatch deadline: past it Cloud Tasks retries the task, so a longer request would only run twice. */
const CLOUD_TASKS_MAX_DISPATCH_DEADLINE_SECONDS = 1_800;
/** After boltz is killed at the shard time limit, the worker still records each ligand's outcome and answers. */
const SHARD_WRAP_UP_SECONDS = 60;
/** The CUDA version of Cloud Run's L4 driver (535.x). */
const DRIVER_CUDA_MINOR = 2;
/** Cloud Run's minimum instance shape with a GPU. */
const GPU_MIN_VCPUS = 4;
const GPU_MIN_MEMORY_BYTES = 16 * 2 ** 30;
/** Variables Cloud Run sets itself; a service that sets them is refused. */
const CLOUD_RUN_RESERVED = ['PORT', 'K_SERVICE', 'K_REVISION', 'K_CONFIGURATION'];

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const workerVariables = new Set(Object.keys(workerEnvSchema.shape));

// ---------------------------------------------------------------------------------------------
// A Dockerfile reader: enough of the format for this file (continuations, comments, stages,
// ARG/ENV with quoting and $VAR substitution, exec-form commands); anything else it refuses.

interface Copy {
  from: string | null;
  sources: string[];
  /** Where each source lands, absolute in the image. */
  targets: string[];
}

interface Stage {
  name: string | null;
  image: string;
  parent: Stage | null;
  env: Map<string, string>;
  args: Map<string, string>;
  workdir: string;
  runs: string[];
  copies: Copy[];
  user: string | null;
  exposed: number[];
  entrypoint: string[] | string | null;
  cmd: string[] | string | null;
}

/** Shell-like words: quotes grouped, `$VAR`/`${VAR}` replaced from `vars` outside single quotes. */
function words(text: string, vars: Map<string, string>): string[] {
  const out: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === null && /\s/.test(c)) {
      if (word !== null) out.push(word);
      word = null;
      continue;
    }
    word ??= '';
    if (c === quote) quote = null;
    else if (quote === null && (c === '"' || c === "'")) quote = c;
    else if (c === '\\' && quote !== "'" && i + 1 < text.length) word += text[++i];
    else if (c === '$' && quote !== "'") {
      const m = /^\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))/.exec(text.slice(i));
      if (!m) throw new Error(`unsupported substitution at: ${text.slice(i, i + 20)}`);
      const name = (m[1] ?? m[2])!;
      word += vars.get(name) ?? '';
      i += m[0].length - 1;
    } else word += c;
  }
  if (quote !== null) throw new Error(`unclosed quote in: ${text}`);
  if (word !== null) out.push(word);
  return out;
}

function parseDockerfile(text: string): Stage[] {
  // Logical lines: comment lines go (also inside a continuation), a trailing backslash joins.
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    if (pending === '' && raw.trim() === '') continue;
    const continued = /\\\s*$/.test(raw);
    pending += continued ? raw.replace(/\\\s*$/, ' ') : raw;
    if (!continued) {
      lines.push(pending.trim());
      pending = '';
    }
  }
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  let stage: Stage | null = null;
  for (const line of lines) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*([\s\S]*)$/.exec(line) ?? [];
    const instruction = keyword.toUpperCase();
    if (instruction === 'FROM') {
      const [image = '', as, name] = words(rest, globalArgs);
      if (as !== undefined && as.toUpperCase() !== 'AS') throw new Error(`unexpected FROM: ${line}`);
      const parent = stages.find((s) => s.name === image) ?? null;
      stage = {
        name: name ?? null,
        image,
        parent,
        env: new Map(parent?.env),
        args: new Map(),
        workdir: parent?.workdir ?? '/',
        runs: [],
        copies: [],
        user: parent?.user ?? null,
        exposed: [...(parent?.exposed ?? [])],
        entrypoint: parent?.entrypoint ?? null,
        cmd: parent?.cmd ?? null,
      };
      stages.push(stage);
      continue;
    }
    if (instruction === 'ARG') {
      const [name = '', value] = words(rest, stage ? vars(stage) : globalArgs)[0]!.split(/=(.*)/s);
      // An ARG in a stage without a value takes the global default of the same name.
      (stage?.args ?? globalArgs).set(name, value ?? globalArgs.get(name) ?? '');
      continue;
    }
    if (!stage) throw new Error(`${instruction} before FROM`);
    const here = stage;
    switch (instruction) {
      case 'ENV': {
        const parts = words(rest, vars(here));
        if (!parts[0]?.includes('=')) here.env.set(parts[0]!, parts.slice(1).join(' '));
        else for (const part of parts) here.env.set(part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1));
        break;
      }
      case 'WORKDIR':
        here.workdir = posix.resolve(here.workdir, words(rest, vars(here))[0]!);
        break;
      case 'RUN':
        here.runs.push(rest);
        break;
      case 'COPY': {
        const parts = words(rest, vars(here));
        const flags = parts.filter((p) => p.startsWith('--'));
        const paths = parts.filter((p) => !p.startsWith('--'));
        const dest = paths.pop()!;
        const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length) ?? null;
        const intoDirectory = dest.endsWith('/') || paths.length > 1;
        const base = posix.resolve(here.workdir, dest);
        here.copies.push({
          from,
          sources: paths,
          targets: paths.map((p) => (intoDirectory ? posix.join(base, basename(p)) : base)),
        });
        break;
      }
      case 'USER':
        here.user = rest.trim();
        break;
      case 'EXPOSE':
        here.exposed.push(...words(rest, vars(here)).map((p) => Number(p.split('/')[0])));
        break;
      case 'ENTRYPOINT':
      case 'CMD': {
        // Exec form is JSON; the shell form stays a string (and fails the checks that need argv).
        const value: string[] | string = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest;
        if (instruction === 'ENTRYPOINT') here.entrypoint = value;
        else here.cmd = value;
        break;
      }
      default:
        throw new Error(`the test's Dockerfile reader does not know ${instruction}; teach it before using it`);
    }
  }
  return stages;
}

/** What `$NAME` means inside a stage: its ENV over its ARGs. */
function vars(stage: Stage): Map<string, string> {
  return new Map([...stage.args, ...stage.env]);
}

function ancestry(stage: Stage): Stage[] {
  return stage.parent ? [stage, ...ancestry(stage.parent)] : [stage];
}

/** The stage whose RUN matches `pattern`; exactly one must. */
function stageRunning(pattern: RegExp): { stage: Stage; run: string } {
  const found = stages.flatMap((stage) => stage.runs.filter((run) => pattern.test(run)).map((run) => ({ stage, run })));
  expect(
    found.map(({ stage }) => stage.name),
    `stages with a RUN matching ${pattern}`,
  ).toHaveLength(1);
  return found[0]!;
}

function argv(value: string[] | string | null, what: string): string[] {
  if (!Array.isArray(value)) throw new Error(`${what} must be in exec form (a JSON array); found ${JSON.stringify(value)}`);
  return value;
}

const stages = parseDockerfile(read(DOCKERFILE));
const runtime = stages.at(-1)!;
/** The variables the image sets (its base image's own, e.g. CUDA's, are not ours to check). */
const imageEnv = Object.fromEntries(runtime.env);

/** The image's command without its init: `node <flags> <script> <args>`. */
function nodeCommand(): { flags: string[]; script: string; args: string[] } {
  let command = [...argv(runtime.entrypoint, 'ENTRYPOINT'), ...argv(runtime.cmd, 'CMD')];
  if (posix.basename(command[0] ?? '') === 'tini') {
    expect(command[1], 'tini runs what follows --').toBe('--');
    command = command.slice(2);
  }
  expect(command[0]).toBe('node');
  const scriptAt = command.findIndex((word, i) => i > 0 && !word.startsWith('-'));
  return { flags: command.slice(1, scriptAt), script: command[scriptAt]!, args: command.slice(scriptAt + 1) };
}

/** Where an absolute image path of `stage` came from: the COPY that put it there. */
function origin(stage: Stage, path: string): { from: string | null; path: string } {
  for (const copy of [...stage.copies].reverse()) {
    for (const [i, target] of copy.targets.entries()) {
      if (path === target || path.startsWith(`${target}/`))
        return { from: copy.from, path: posix.join(copy.sources[i]!, path.slice(target.length)) };
    }
  }
  throw new Error(`nothing in stage ${stage.name} is copied to ${path}`);
}

// ---------------------------------------------------------------------------------------------
// The TypeScript build (`npm run build` = tsc -p tsconfig.build.json, then the GraphiQL bundle).

const buildConfig = ts.getParsedCommandLineOfConfigFile(
  join(ROOT, 'tsconfig.build.json'),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  },
)!;

/** Every file of ours the build compiles, imports followed (e.g. schema/__generated__ from src/cli). */
function buildInputs(): string[] {
  const program = ts.createProgram({ rootNames: buildConfig.fileNames, options: { ...buildConfig.options, noEmit: true } });
  return program
    .getSourceFiles()
    .filter((f) => !program.isSourceFileDefaultLibrary(f) && !f.fileName.includes('/node_modules/'))
    .map((f) => relative(ROOT, f.fileName));
}

/**
 * The stage that builds the script the image runs, and the TypeScript that script is compiled
 * from: the script's path in the build's outDir, mapped back under rootDir.
 */
function builtEntryPoint(): { build: Stage; source: string } {
  const { script } = nodeCommand();
  const copied = origin(runtime, posix.resolve(runtime.workdir, script));
  const build = stages.find((s) => s.name === copied.from);
  if (!build) throw new Error(`${script} is not copied from a build stage (from: ${copied.from})`);
  const emitted = posix.relative(build.workdir, copied.path);
  const outDir = relative(ROOT, buildConfig.options.outDir!);
  expect(emitted.startsWith(`${outDir}/`), `${emitted} is under the build's outDir ${outDir}`).toBe(true);
  const source = join(buildConfig.options.rootDir!, emitted.slice(outDir.length + 1)).replace(/\.js$/, '.ts');
  return { build, source };
}

// ---------------------------------------------------------------------------------------------
// The Cloud Run service: deploy/terraform/run-worker.tf, the one definition of it.

const tf = await loadTerraform();
const service = resource(tf, 'google_cloud_run_v2_service.worker');
const template = child(service, 'template');
const container = containerOf(service);
const limits = child(container, 'resources').limits as Record<string, unknown>;
/** The worker's environment on Cloud Run: the image's, with the service's on top. */
const serviceEnv = { ...imageEnv, ...Object.fromEntries(terraformEnv(tf, service).map((e) => [e.name, e.value])) };
const probes = ['startup_probe', 'liveness_probe'].flatMap((p) => children(container, p)).map((p) => child(p, 'http_get'));

function cpus(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(quantity);
  if (!m) throw new Error(`not a CPU quantity: ${quantity}`);
  return Number(m[1]) / (m[2] ? 1000 : 1);
}

function bytes(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (!m) throw new Error(`not a memory quantity: ${quantity}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

// =============================================================================================

describe('the L4 worker image (gpu-worker/Dockerfile)', () => {
  it('runs the built CLI as `./omtx worker` does, in exec form under tini', () => {
    const { flags, script, args } = nodeCommand();
    // The launcher's last line: `exec node <flags> "$root/<script>" "$@"`.
    const launcher = read('omtx');
    const exec = /^exec node ((?:--\S+ )*)"\$root\/([^"]+)" "\$@"$/m.exec(launcher);
    expect(exec, 'the exec line of ./omtx').not.toBeNull();
    expect(flags).toEqual(exec![1]!.trim().split(/\s+/).filter(Boolean));
    expect(script).toBe(exec![2]);
    expect(args).toEqual(['worker']);
    expect(imageEnv.NODE_ENV).toBe(/NODE_ENV="\$\{NODE_ENV:-(\w+)\}"/.exec(launcher)?.[1]);
    // tini, when used, must be installed by the image itself.
    if (argv(runtime.entrypoint, 'ENTRYPOINT')[0]!.endsWith('tini'))
      expect(ancestry(runtime).some((s) => s.runs.some((r) => /apt-get install[^&]*\btini\b/.test(r)))).toBe(true);
  });

  it('execs a file that `npm run build` emits from the CLI source', () => {
    const { build, source } = builtEntryPoint();
    expect(build.runs.some((r) => /\bnpm run build\b/.test(r))).toBe(true);
    expect(existsSync(source), `${source} exists`).toBe(true);
    expect(buildConfig.fileNames).toContain(source);
    // dist/ is ES modules only because package.json says so; node_modules holds the runtime deps.
    for (const path of ['package.json', 'node_modules']) {
      expect(origin(runtime, posix.resolve(runtime.workdir, path))).toEqual({
        from: build.name,
        path: posix.join(build.workdir, path),
      });
    }
  });

  it('copies into the build stage every file the build reads, and .dockerignore drops none of them', () => {
    const build = stageRunning(/\bnpm run build\b/).stage;
    const buildScript = (JSON.parse(read('package.json')) as { scripts: { build: string } }).scripts.build;
    const inputs = [
      ...buildInputs(),
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      ...(buildScript.match(/scripts\/[\w./-]+/g) ?? []),
    ];
    expect(inputs).toContain('gpu-worker/src/main.ts');
    const fromContext = build.copies.filter((c) => c.from === null);
    const missing = inputs.filter((input) => {
      const expected = posix.join(build.workdir, input);
      return !fromContext.some((c) =>
        c.sources.some(
          (s, i) => (input === s || input.startsWith(`${s}/`)) && posix.join(c.targets[i]!, input.slice(s.length)) === expected,
        ),
      );
    });
    expect(missing, 'build inputs not copied to the same path under the build WORKDIR').toEqual([]);

    // Docker's rules, reduced to what .dockerignore may hold here: globs with * and **, `!` re-includes.
    const patterns = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => {
        const include = l.startsWith('!');
        const glob = posix.normalize(l.replace(/^!/, '').replace(/^\//, ''));
        const source = glob
          .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
          .replace(/\*\*\//g, '(?:.*/)?')
          .replace(/\*/g, '[^/]*');
        return { include, regex: new RegExp(`^${source}$`) };
      });
    const ignored = (path: string) => {
      const parts = path.split('/');
      let excluded = false;
      for (const { include, regex } of patterns) {
        if (parts.some((_, i) => regex.test(parts.slice(0, i + 1).join('/')))) excluded = !include;
      }
      return excluded;
    };
    expect(inputs.filter(ignored), 'build inputs that .dockerignore leaves out of the context').toEqual([]);
    // The host's installed packages and build output never reach the image (other OS, other glibc).
    for (const path of [
      'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
      'dist/src/cli/main.js',
      '.omtx/omtx.sqlite',
    ]) {
      expect(ignored(path), `${path} is ignored`).toBe(true);
    }
  });

  it('sets only OMTX_/BOLTZ_ variables the worker reads, with values its own configuration accepts', () => {
    const ours = Object.keys(imageEnv).filter((name) => /^(OMTX|BOLTZ)_/.test(name));
    expect(ours.length).toBeGreaterThan(0);
    expect(
      ours.filter((name) => !workerVariables.has(name)),
      'set by the image but not read by the worker',
    ).toEqual([]);
    const config = loadWorkerConfig(imageEnv);
    // Cloud Run connects to the container's port on any interface, not to loopback.
    expect(config.host).toBe('0.0.0.0');
    expect(runtime.exposed).toEqual([config.port]);
    expect(posix.isAbsolute(imageEnv.OMTX_DATA_DIR ?? ''), 'OMTX_DATA_DIR is absolute (not relative to WORKDIR)').toBe(true);
  });

  it('bakes the weights into BOLTZ_CACHE with Boltz’s own downloader, by default', () => {
    const cache = imageEnv.BOLTZ_CACHE;
    expect(cache, 'BOLTZ_CACHE is set').toBeDefined();
    expect(loadWorkerConfig(imageEnv).boltzCache).toBe(cache);
    const { stage: weights, run } = stageRunning(/\bdownload_boltz2\(/);
    // The downloader writes where the stage's BOLTZ_CACHE points, and that is the runtime's.
    expect(run).toMatch(/download_boltz2\([^)]*os\.environ\[['"]BOLTZ_CACHE['"]\]/);
    expect(weights.env.get('BOLTZ_CACHE')).toBe(cache);
    expect(weights.args.get('BAKE_BOLTZ_WEIGHTS'), 'baked unless the build says otherwise').toBe('1');
    expect(run).toMatch(/\$\{?BAKE_BOLTZ_WEIGHTS\}?"? = "?1"?/);
    expect(origin(runtime, cache!)).toEqual({ from: weights.name, path: cache });
  });

  it('installs a pinned Boltz-2 with a CUDA 12 torch, on a CUDA base no newer than the L4 driver', () => {
    const { stage, run } = stageRunning(/\bboltz\[cuda\]==/);
    const pinned = words(run, vars(stage)).join(' ');
    // Boltz-2 is the boltz 2.x line on PyPI; an exact version, so every build runs the same model code.
    expect(pinned).toMatch(/"?boltz\[cuda\]==2\.\d+\.\d+"?(\s|$)/);
    expect(pinned).toMatch(/"?torch==2\.\d+\.\d+"?(\s|$)/);
    expect(run, 'the build fails on a torch that is not a CUDA 12 build').toMatch(/torch\.version\.cuda[^\n]*'12\.'/);
    const venv = /\bpython3\.(\d+) -m venv (\S+)/.exec(run);
    expect(Number(venv?.[1]), 'Python 3.10–3.12 (boltz requires-python)').toBeGreaterThanOrEqual(10);
    expect(Number(venv?.[1])).toBeLessThanOrEqual(12);
    // The worker runs the boltz of that environment, copied whole into the runtime.
    expect(imageEnv.OMTX_BOLTZ_BIN).toBe(posix.join(venv![2]!, 'bin', 'boltz'));
    expect(origin(runtime, imageEnv.OMTX_BOLTZ_BIN!)).toEqual({ from: stage.name, path: imageEnv.OMTX_BOLTZ_BIN });
    const cudaBase = ancestry(runtime).at(-1)!.image;
    const cuda = /^nvidia\/cuda:12\.(\d+)\.\d+-(?:cudnn\d*-)?runtime-ubuntu\d+\.\d+$/.exec(cudaBase);
    expect(cuda, `a CUDA 12 runtime base (found ${cudaBase})`).not.toBeNull();
    expect(Number(cuda![1])).toBeLessThanOrEqual(DRIVER_CUDA_MINOR);
  });

  it('runs as a non-root user who owns the data directory', () => {
    const user = runtime.user;
    expect(user).toBeTruthy();
    expect(['root', '0'], 'not root').not.toContain(user!.split(':')[0]);
    const runs = runtime.runs.join('\n');
    expect(runs).toMatch(new RegExp(`useradd [^\\n]*\\b${user}\\b`));
    expect(runs).toMatch(new RegExp(`chown ${user}(:${user})? ${imageEnv.OMTX_DATA_DIR}\\b`));
  });
});

describe('the Cloud Run service (deploy/terraform/run-worker.tf)', () => {
  it('has one L4, at least 4 vCPU and 16 GiB, CPU always allocated, GPU zonal redundancy chosen', () => {
    expect(child(template, 'node_selector').accelerator).toBe('nvidia-l4');
    expect(children(template, 'containers'), 'one container: the GPU attaches to one').toHaveLength(1);
    expect(evaluate(tf, limits['nvidia.com/gpu'])).toBe('1');
    expect(cpus(evaluate(tf, limits.cpu))).toBeGreaterThanOrEqual(GPU_MIN_VCPUS);
    expect(bytes(evaluate(tf, limits.memory))).toBeGreaterThanOrEqual(GPU_MIN_MEMORY_BYTES);
    expect(child(container, 'resources').cpu_idle).toBe(false);
    expect(typeof template.gpu_zonal_redundancy_disabled).toBe('boolean');
  });

  it('prices each job on the instance it asks for', () => {
    expect(loadWorkerConfig(serviceEnv).instance).toEqual({
      gpus: Number(evaluate(tf, limits['nvidia.com/gpu'])),
      vcpus: cpus(evaluate(tf, limits.cpu)),
      memoryGib: bytes(evaluate(tf, limits.memory)) / 2 ** 30,
    });
  });

  it('serves one task at a time, as the worker runs one shard at a time', () => {
    expect(template.max_instance_request_concurrency).toBe(1);
    expect(loadWorkerConfig(serviceEnv).concurrency).toBe(1);
  });

  it('gives a task Cloud Tasks’ whole dispatch deadline, past the shard time limit and its wrap-up', () => {
    const timeout = Number(/^(\d+)s$/.exec(evaluate(tf, template.timeout))?.[1]);
    expect(timeout).toBe(CLOUD_TASKS_MAX_DISPATCH_DEADLINE_SECONDS);
    const { boltzShardTimeLimitSeconds } = loadWorkerConfig(serviceEnv);
    expect(boltzShardTimeLimitSeconds + SHARD_WRAP_UP_SECONDS).toBeLessThanOrEqual(timeout);
  });

  it('scales to zero and to a bounded number of GPUs', () => {
    const scaling = child(template, 'scaling');
    expect(evaluate(tf, scaling.min_instance_count)).toBe('0');
    expect(evaluate(tf, scaling.max_instance_count)).toMatch(/^[1-9]\d*$/);
  });

  it('sends requests and probes to the port the worker listens on', () => {
    const { port, host } = loadWorkerConfig(serviceEnv);
    expect(host).toBe('0.0.0.0');
    expect(children(container, 'ports').map((p) => Number(evaluate(tf, p.container_port)))).toEqual([port]);
    expect(runtime.exposed).toEqual([port]);
    expect(children(container, 'startup_probe'), 'a startup probe (Cloud Run ignores HEALTHCHECK)').toHaveLength(1);
    for (const probe of probes) {
      expect(probe.path).toMatch(/^\//);
      expect(Number(evaluate(tf, probe.port ?? port))).toBe(port);
    }
  });

  it('sets only variables the worker reads, and none Cloud Run sets itself', () => {
    const names = terraformEnv(tf, service).map((e) => e.name);
    expect(
      names.filter((name) => !workerVariables.has(name)),
      'not read by the worker',
    ).toEqual([]);
    expect(names.filter((name) => CLOUD_RUN_RESERVED.includes(name))).toEqual([]);
    expect(() => loadWorkerConfig(serviceEnv)).not.toThrow();
  });

  it('admits only IAM-authenticated callers, running as its own service account', () => {
    expect(service.invoker_iam_disabled).toBeUndefined();
    expect(template.service_account).toBe('${google_service_account.worker.email}');
    const invokers = resource(tf, 'google_cloud_run_v2_service_iam_binding.worker_invokers');
    expect([invokers.role, invokers.members]).toEqual(['roles/run.invoker', ['${google_service_account.tasks_invoker.member}']]);
  });

  it('mounts a weights bucket read-only at BOLTZ_CACHE when one is given, and nothing otherwise', () => {
    const dynamic = (block: Block, name: string) => (block.dynamic as Record<string, Block[]>)[name]![0]!;
    const mount = dynamic(container, 'volume_mounts');
    const volume = dynamic(template, 'volumes');
    for (const block of [mount, volume]) expect(String(block.for_each)).toMatch(/^\$\{var\.worker_weights_bucket != "" \? \[/);
    expect(child(mount, 'content').mount_path).toBe(loadWorkerConfig(serviceEnv).boltzCache);
    expect(child(mount, 'content').name).toBe(child(volume, 'content').name);
    const gcs = child(child(volume, 'content'), 'gcs');
    expect(gcs.bucket).toBe('${volumes.value}');
    expect(gcs.read_only).toBe(true);
    // Boltz tests that mols/ exists; rsync'd objects have no directory placeholders.
    expect(gcs.mount_options).toContain('implicit-dirs');
  });

  it('builds this Dockerfile from the repository root with Cloud Build', () => {
    const build = parseYaml(read('deploy/cloudbuild.yaml')) as { steps: { args: string[] }[]; images: string[] };
    const step = build.steps.find((s) => s.args.includes(`--file=${DOCKERFILE}`))!;
    expect(step.args.at(-1)).toBe('.');
    expect(step.args).toContain('--build-arg=BAKE_BOLTZ_WEIGHTS=${_BAKE_BOLTZ_WEIGHTS}');
    expect(build.images).toContain(step.args.find((a) => a.startsWith('--tag='))!.slice('--tag='.length));
  });
});

describe('the worker started as the image starts it', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'omtx-container-'));
  let child: ChildProcess | null = null;
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('listens on every interface, answers the service’s probes and /models, and stops cleanly on SIGTERM', async () => {
    const { flags, args } = nodeCommand();
    // The TypeScript the image's script is built from, run through tsx.
    const { source } = builtEntryPoint();
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('OMTX_') && !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'),
    );
    const ours = (env: Record<string, string | undefined>) =>
      Object.fromEntries(Object.entries(env).filter(([k]) => /^(OMTX|BOLTZ)_|^NODE_ENV$/.test(k)));
    const env = {
      ...inherited,
      ...ours(serviceEnv),
      // A free port, so test runs never collide; the port itself is checked against the service above.
      OMTX_WORKER_PORT: '0',
      // The embedded store: this starts the image's command, not Google's services (the gcp
      // adapters run their contract suites against the emulators).
      OMTX_BACKEND: 'local',
      OMTX_DATA_DIR: dataDir,
    };
    child = spawn(process.execPath, [...flags, '--import', 'tsx', source, ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = child;
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const printed: string[] = [];
    createInterface({ input: proc.stderr! }).on('line', (line) => printed.push(line));
    const announced = new Promise<string>((resolve, reject) => {
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        printed.push(line);
        if (line.startsWith('{"workerUrl"')) resolve((JSON.parse(line) as { workerUrl: string }).workerUrl);
      });
      void exited.then((code) => reject(new Error(`the worker exited (${code}) before listening:\n${printed.join('\n')}`)));
    });
    const url = new URL(await announced);
    expect(url.hostname).toBe('0.0.0.0');
    const base = `http://127.0.0.1:${url.port}`;
    const probed = new Set(probes.map((p) => String(p.path)));
    expect(probed.size).toBeGreaterThan(0);
    for (const path of probed) expect((await fetch(`${base}${path}`)).status, `GET ${path}`).toBe(200);
    // What the api's model catalog asks a worker.
    const models = await fetch(`${base}/models`);
    expect(models.status).toBe(200);
    expect(Array.isArray(((await models.json()) as { models: unknown }).models)).toBe(true);
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
