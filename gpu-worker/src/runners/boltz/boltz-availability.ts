import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, isAbsolute, join } from 'node:path';
import { runTool } from '../process.js';
import type { Availability } from '../runner.js';

/**
 * What `boltz predict` needs in its cache for Boltz-2 (`download_boltz2` in src/boltz/main.py).
 * Boltz downloads any that is missing at the start of every run, `mols.tar` included even when
 * `mols/` is there: a worker without them would fetch gigabytes per shard, or fail offline.
 */
const CACHE_FILES = ['boltz2_conf.ckpt', 'boltz2_aff.ckpt', 'mols.tar'] as const;
const CACHE_DIRS = ['mols'] as const;

const INSTALL = 'pip install boltz (https://github.com/jwohlwend/boltz), or set OMTX_BOLTZ_BIN to its `boltz` executable';

/** `boltz predict --help` imports torch and Lightning: seconds on a cold start, never minutes. */
const HELP_TIME_LIMIT_MS = 120_000;
const VERSION_TIME_LIMIT_MS = 20_000;

/**
 * Whether Boltz-2 can run here: the weights are in the cache, `boltz predict --help` answers,
 * and which versions of boltz and torch are installed.
 */
export async function checkBoltz(boltzPath: string, cacheDir: string): Promise<Availability> {
  const missing = await missingFromCache(cacheDir);
  if (missing.length > 0) {
    return {
      available: false,
      reason:
        `the Boltz-2 cache ${cacheDir} lacks ${missing.join(', ')}: download them once with network access ` +
        `(\`boltz predict <any input.yaml> --cache ${cacheDir}\` fetches them at start, or copy them from ` +
        'https://huggingface.co/boltz-community/boltz-2), or point BOLTZ_CACHE at the folder that holds them',
    };
  }
  const answer = await answersHelp(boltzPath);
  if (answer) return { available: false, reason: answer };
  return { available: true, versions: await versionsOf(boltzPath) };
}

async function missingFromCache(cacheDir: string): Promise<string[]> {
  const missing: string[] = [];
  for (const name of CACHE_FILES) {
    const info = await stat(join(cacheDir, name)).catch(() => null);
    if (!info?.isFile() || info.size === 0) missing.push(name);
  }
  for (const name of CACHE_DIRS) {
    const info = await stat(join(cacheDir, name)).catch(() => null);
    if (!info?.isDirectory()) missing.push(`${name}/`);
  }
  return missing;
}

/** Null when `boltz predict --help` answers; otherwise why not and how to fix it. */
async function answersHelp(boltzPath: string): Promise<string | null> {
  try {
    const run = await runTool(boltzPath, ['predict', '--help'], { cwd: tmpdir(), timeLimitMs: HELP_TIME_LIMIT_MS });
    if (run.exitCode === 0 && run.stdout.includes('Usage:')) return null;
    const said = `${run.stderr}\n${run.stdout}`
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .slice(-1)[0];
    const status = run.timedOut ? `no answer in ${HELP_TIME_LIMIT_MS / 1000} s` : `exit ${run.exitCode ?? run.signal}`;
    return `boltz at ${boltzPath} does not answer \`boltz predict --help\` (${status}${said ? `: ${said}` : ''}); reinstall: ${INSTALL}`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `boltz is not installed (no executable "${boltzPath}"): ${INSTALL}`;
    return `boltz at ${boltzPath} cannot run (${code ?? String(error)}): ${INSTALL}`;
  }
}

/**
 * Boltz has no `--version`, and importing it loads torch. Its executable is a Python console
 * script, so the interpreter named on its first line can read the installed versions from the
 * package metadata, in a fraction of a second. An executable that is not one (a wrapper) gets
 * `unknown`.
 */
async function versionsOf(boltzPath: string): Promise<Record<string, string>> {
  const interpreter = await pythonOf(boltzPath);
  if (!interpreter) return { boltz: 'unknown' };
  const probe = [
    'import importlib.metadata as m',
    'for name in ("boltz", "torch"):',
    '    try: print(name, m.version(name))',
    '    except m.PackageNotFoundError: pass',
  ].join('\n');
  const run = await runTool(interpreter[0]!, [...interpreter.slice(1), '-c', probe], {
    cwd: tmpdir(),
    timeLimitMs: VERSION_TIME_LIMIT_MS,
  }).catch(() => null);
  const versions = Object.fromEntries(
    (run?.exitCode === 0 ? run.stdout : '')
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields.length === 2),
  ) as Record<string, string>;
  return { boltz: 'unknown', ...versions };
}

/** The interpreter command of a Python script's `#!` line (`/usr/bin/env python3` included); null otherwise. */
async function pythonOf(boltzPath: string): Promise<string[] | null> {
  const file = await onPath(boltzPath);
  if (!file) return null;
  const handle = await open(file, 'r').catch(() => null);
  if (!handle) return null;
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(256), 0, 256, 0);
    const first = buffer.subarray(0, bytesRead).toString('utf8').split('\n')[0]!;
    if (!first.startsWith('#!')) return null;
    const command = first.slice(2).trim().split(/\s+/);
    const program = basename(command[0]!) === 'env' ? command[1] : command[0];
    return program && /^python[\d.]*$/.test(basename(program)) ? command : null;
  } finally {
    await handle.close();
  }
}

/** `name` as the shell would find it: itself when it has a slash, else the first executable on PATH. */
async function onPath(name: string): Promise<string | null> {
  if (isAbsolute(name) || name.includes('/')) return name;
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return null;
}
