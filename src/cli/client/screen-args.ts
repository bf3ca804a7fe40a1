import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { ExportFormat, StructureFormat } from '../../../schema/__generated__/graphql.js';
import { checkPocket, parseVec3, parseVinaBox, type Pocket } from './box-file.js';
import { readLigandFile, type LigandRow } from './ligand-file.js';
import { UsageError } from './usage-error.js';

export const DEFAULT_URL = 'http://127.0.0.1:8000/graphql';

/** Where the results go once the batch has ended. */
export interface OutputPlan {
  out: string;
  format: ExportFormat;
  /** How many of the best ligands to print. */
  top: number;
}

/** A screen to submit: everything `submitBatch` needs, already read and checked. */
export interface Submission {
  name: string;
  ligands: LigandRow[];
  receptor: { name: string; format: StructureFormat; content: string };
  pocket: Pocket;
  parameters: { exhaustiveness?: number; numPoses?: number; seed?: number };
  skipInvalid: boolean;
}

export type ScreenCommand =
  | { mode: 'submit'; url: string; submission: Submission; output: OutputPlan }
  | { mode: 'attach'; url: string; batchId: string; output: OutputPlan };

const OPTIONS = {
  ligands: { type: 'string' },
  receptor: { type: 'string' },
  center: { type: 'string' },
  size: { type: 'string' },
  box: { type: 'string' },
  name: { type: 'string' },
  exhaustiveness: { type: 'string' },
  'num-poses': { type: 'string' },
  seed: { type: 'string' },
  'skip-invalid': { type: 'boolean' },
  out: { type: 'string' },
  format: { type: 'string' },
  url: { type: 'string' },
  attach: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FORMATS: readonly ExportFormat[] = ['CSV', 'JSON', 'SDF'];
const EXTENSIONS: Record<ExportFormat, string> = { CSV: 'csv', JSON: 'json', SDF: 'sdf' };

/**
 * Reads `omtx screen`'s flags (after the command word) and the files they name. Every
 * mistake is a UsageError naming its flag; `null` means help was asked for.
 */
export function parseScreenArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ScreenCommand | null {
  const { values } = parseFlags(argv, OPTIONS);
  if (values.help) return null;
  const url = parseUrl(values.url ?? (env.OMTX_URL || DEFAULT_URL));
  const format = parseFormat(values.format);
  const output: OutputPlan = { out: values.out ?? `results.${EXTENSIONS[format]}`, format, top: 5 };

  if (values.attach !== undefined) {
    const conflicting = [
      'ligands',
      'receptor',
      'center',
      'size',
      'box',
      'name',
      'exhaustiveness',
      'num-poses',
      'seed',
      'skip-invalid',
    ].find((f) => (values as Record<string, unknown>)[f] !== undefined);
    if (conflicting) throw new UsageError('--attach', `watches a submitted batch; --${conflicting} applies only to a new screen`);
    if (values.attach.trim() === '') throw new UsageError('--attach', 'expected a batch id');
    return { mode: 'attach', url, batchId: values.attach.trim(), output };
  }

  if (values.ligands === undefined) throw new UsageError('--ligands', 'required: a .smi or .csv file of ligands');
  if (values.receptor === undefined) throw new UsageError('--receptor', 'required: a .pdb or .pdbqt receptor file');
  const ligands = readLigandFile(values.ligands);
  const receptor = readReceptor(values.receptor);
  const pocket = readPocket(values);
  const parameters: Submission['parameters'] = {};
  if (values.exhaustiveness !== undefined) parameters.exhaustiveness = parseInteger(values.exhaustiveness, '--exhaustiveness', 1);
  if (values['num-poses'] !== undefined) parameters.numPoses = parseInteger(values['num-poses'], '--num-poses', 1);
  if (values.seed !== undefined) parameters.seed = parseInteger(values.seed, '--seed', 0);
  const name = values.name ?? `${basename(values.ligands)} vs ${receptor.name}`;
  if (name.trim() === '') throw new UsageError('--name', 'must not be empty');
  return {
    mode: 'submit',
    url,
    submission: { name, ligands, receptor, pocket, parameters, skipInvalid: values['skip-invalid'] ?? false },
    output,
  };
}

/** `parseArgs`, strict, with its errors turned into UsageErrors that name the flag. */
export function parseFlags<const O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (error) {
    const message = (error as Error).message;
    const flag = /'(-{1,2}[\w-]+)/.exec(message)?.[1] ?? null;
    throw new UsageError(flag, message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

export function parseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError('--url', `not a URL: ${JSON.stringify(value)} (e.g. ${DEFAULT_URL})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError('--url', `expected http(s)://…/graphql, got ${value}`);
  return url.href;
}

function parseFormat(value: string | undefined): ExportFormat {
  if (value === undefined) return 'CSV';
  const format = value.toUpperCase() as ExportFormat;
  if (!FORMATS.includes(format))
    throw new UsageError('--format', `expected one of ${FORMATS.join(', ')}, got ${JSON.stringify(value)}`);
  return format;
}

function parseInteger(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(flag, `expected an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
}

export function readReceptor(path: string, flag = '--receptor'): Submission['receptor'] {
  const ext = extname(path).toLowerCase();
  const format = ext === '.pdbqt' ? 'PDBQT' : ext === '.pdb' ? 'PDB' : null;
  if (!format) throw new UsageError(flag, `${path}: expected a .pdb or .pdbqt file, got "${ext || 'no extension'}"`);
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(flag, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return { name: basename(path, extname(path)), format, content };
}

export function readBox(path: string, flag = '--box'): Pocket {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(flag, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return parseVinaBox(text, flag);
}

function readPocket(values: { center?: string; size?: string; box?: string }): Pocket {
  if (values.box !== undefined) {
    const extra = values.center !== undefined ? '--center' : values.size !== undefined ? '--size' : null;
    if (extra) throw new UsageError(extra, 'give the box either as --center and --size or as --box FILE, not both');
    return readBox(values.box);
  }
  if (values.center === undefined) throw new UsageError('--center', 'required (x,y,z in Å) unless --box FILE gives the box');
  if (values.size === undefined) throw new UsageError('--size', 'required (x,y,z in Å) unless --box FILE gives the box');
  const center = parseVec3(values.center, '--center');
  return checkPocket({ center, size: parseVec3(values.size, '--size') }, '--size');
}
