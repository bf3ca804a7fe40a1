import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  CliBatchOutcomeDocument,
  CliBatchStateDocument,
  SubmitBatchDocument,
  type CliBatchOutcomeQuery,
} from '../../../schema/__generated__/graphql.js';
import { GraphqlClient, GraphqlRequestError } from './graphql-client.js';
import { createProgressView, formatDuration } from './progress-view.js';
import type { LigandRow } from './ligand-file.js';
import type { OutputPlan, ScreenCommand, Submission } from './screen-args.js';
import { UsageError } from './usage-error.js';
import { watchBatch, type BatchStatus } from './watch-batch.js';

/** Where a screen writes and what stops it. */
export interface ScreenIo {
  out: NodeJS.WriteStream;
  /** Aborted on Ctrl-C: the client detaches, the batch keeps running. */
  interrupt: AbortSignal;
  /** How the user ran the CLI, for the resume hint. @default 'omtx' */
  program?: string;
}

/** Exit codes: the batch COMPLETED, it FAILED or was CANCELLED, the user detached (Ctrl-C). */
export const EXIT = { completed: 0, failed: 1, usage: 2, detached: 130 } as const;

export type Outcome = NonNullable<CliBatchOutcomeQuery['batch']>;

/** The exit code, and the ended batch as last read (null when the user detached). */
export interface ScreenResult {
  exitCode: number;
  batch: Outcome | null;
}

/**
 * Runs `omtx screen`: submits the batch (or attaches to one), follows its progress until it
 * ends, downloads the export to `output.out` and prints the best ligands. A UsageError or
 * GraphqlRequestError escapes for the caller to print.
 */
export async function runScreen(command: ScreenCommand, io: ScreenIo): Promise<ScreenResult> {
  const client = new GraphqlClient(command.url);
  const print = (line = '') => io.out.write(`${line}\n`);
  let batchId: string;
  let ligands: LigandRow[] | null = null;
  if (command.mode === 'submit') {
    ligands = command.submission.ligands;
    batchId = await submit(client, command.submission, print);
  } else {
    const { batch } = await client.request(CliBatchStateDocument, { id: command.batchId });
    if (!batch) throw new UsageError('--attach', `no batch ${command.batchId} at ${command.url}`);
    batchId = batch.id;
    print(`watching batch ${batch.id} "${batch.name}" (${batch.status}, ${batch.progress.total} ligands)`);
  }

  const started = Date.now();
  const view = createProgressView(io.out);
  let watched: Awaited<ReturnType<typeof watchBatch>>;
  try {
    watched = await watchBatch(client, batchId, (event) => view.update(event), { signal: io.interrupt });
  } finally {
    view.close();
  }
  if (watched.kind === 'detached') {
    printResumeHint(print, io.program ?? 'omtx', batchId, command.url, command.output);
    return { exitCode: EXIT.detached, batch: null };
  }

  const { batch } = await client.request(CliBatchOutcomeDocument, {
    id: batchId,
    top: command.output.top,
    format: command.output.format,
  });
  if (!batch) throw new Error(`batch ${batchId} disappeared before its results were read`);
  const p = batch.progress;
  print(
    `batch ${batch.id} ${batch.status}: ${p.completed} completed, ${p.failed} failed, ${p.cancelled} cancelled of ${p.total}` +
      ` (watched for ${formatDuration((Date.now() - started) / 1000)})`,
  );
  printFailures(print, batch, ligands);
  await download(batch, command.output, print);
  printTop(print, batch, command.output.top);
  return { exitCode: exitCode(batch.status), batch };
}

export function exitCode(status: BatchStatus): number {
  return status === 'COMPLETED' ? EXIT.completed : EXIT.failed;
}

async function submit(client: GraphqlClient, s: Submission, print: (line?: string) => void): Promise<string> {
  let result;
  try {
    result = await client.request(SubmitBatchDocument, {
      input: {
        model: 'VINA',
        name: s.name,
        protein: {
          name: s.receptor.name,
          structure: { format: s.receptor.format, content: s.receptor.content },
          pocket: { center: s.pocket.center, size: s.pocket.size },
        },
        ligands: s.ligands.map(({ smiles, name }) => ({ smiles, name })),
        onInvalidLigand: s.skipInvalid ? 'SKIP' : 'REJECT',
        parameters: s.parameters,
      },
    });
  } catch (error) {
    if (error instanceof GraphqlRequestError && error.code === 'BAD_USER_INPUT') throw rejection(error, s);
    throw error;
  }
  const { batch, skipped } = result.submitBatch;
  print(
    `submitted batch ${batch.id} "${batch.name}": ${batch.progress.total} ligands${skipped.length ? `, ${skipped.length} skipped` : ''}`,
  );
  for (const ligand of skipped) {
    const row = s.ligands[ligand.index];
    const problems = ligand.problems.map((p) => p.message).join('; ');
    print(`  skipped line ${row?.line ?? '?'}${ligand.name ? ` (${ligand.name})` : ''} ${ligand.smiles}: ${problems}`);
  }
  return batch.id;
}

/** Flags that set each part of the input, for BAD_USER_INPUT problems outside the ligands. */
const FLAG_OF: [RegExp, string][] = [
  [/^input\.protein\.structure/, '--receptor'],
  [/^input\.protein\.pocket/, '--center/--size/--box'],
  [/^input\.parameters\.exhaustiveness/, '--exhaustiveness'],
  [/^input\.parameters\.numPoses/, '--num-poses'],
  [/^input\.parameters\.seed/, '--seed'],
  [/^input\.name/, '--name'],
];

/** The api refused the submission: every problem, located in the files the user gave. */
function rejection(error: GraphqlRequestError, s: Submission): UsageError {
  const invalid = error.errors.flatMap((e) => e.extensions?.invalid ?? []);
  if (invalid.length === 0) return new UsageError(null, `the api refused the screen: ${error.message}`);
  const lines = invalid.map(({ path, message }) => {
    if (path[1] === 'ligands' && path[2] !== undefined) {
      const row = s.ligands[Number(path[2])];
      return `  --ligands line ${row?.line ?? '?'}${row?.name ? ` (${row.name})` : ''} ${row?.smiles ?? ''}: ${message}`;
    }
    const dotted = path.join('.');
    const flag = FLAG_OF.find(([pattern]) => pattern.test(dotted))?.[1] ?? dotted;
    return `  ${flag}: ${message}`;
  });
  const ligandProblems = invalid.some(({ path }) => path[1] === 'ligands');
  const hint = ligandProblems && !s.skipInvalid ? '\nadd --skip-invalid to screen the valid ligands and list the others' : '';
  return new UsageError(
    null,
    `the api refused the screen (${invalid.length} problem${invalid.length === 1 ? '' : 's'}):\n${lines.join('\n')}${hint}`,
  );
}

function printFailures(print: (line?: string) => void, batch: Outcome, ligands: LigandRow[] | null): void {
  const failed = batch.failed.edges.map((e) => e.node);
  for (const job of failed) {
    const line = job.batchIndex !== null && ligands ? ligands[job.batchIndex]?.line : undefined;
    const where = line !== undefined ? `line ${line}` : `#${job.batchIndex ?? '?'}`;
    print(
      `  failed ${where}${job.name ? ` (${job.name})` : ''}: ${job.error ? `${job.error.code} ${job.error.message}` : 'no error recorded'}`,
    );
  }
  const more = batch.progress.failed - failed.length;
  if (more > 0) print(`  …and ${more} more failed (see the export's status and error columns)`);
}

async function download(batch: Outcome, output: OutputPlan, print: (line?: string) => void): Promise<void> {
  if (!batch.export) {
    print(`no ${output.format} export: no ligand has ${output.format === 'SDF' ? 'a pose' : 'a result'} to write`);
    return;
  }
  const response = await fetch(batch.export.url);
  if (!response.ok) throw new Error(`downloading the export answered HTTP ${response.status}: ${batch.export.url}`);
  const body = Buffer.from(await response.arrayBuffer());
  const path = resolve(output.out);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body);
  print(`wrote ${output.out} (${output.format}, ${formatBytes(body.length)})`);
}

const UNITS: Record<string, string> = { KCAL_PER_MOL: 'kcal/mol', LOG10_IC50_UM: 'log10 IC50 µM' };

/** The ranking, best first: rank, affinity, name, SMILES. */
export function printTop(print: (line?: string) => void, batch: Outcome, n: number): void {
  const top = batch.summary.top.filter((j) => j.result?.affinity);
  if (top.length === 0) {
    print('no ligand has an affinity');
    return;
  }
  const unit = UNITS[batch.summary.unit ?? ''] ?? batch.summary.unit ?? '';
  print(`top ${Math.min(n, top.length)} of ${batch.summary.scored} by affinity (${unit}, lower binds tighter):`);
  const nameWidth = Math.min(24, Math.max(4, ...top.map((j) => (j.name ?? '').length)));
  top.forEach((job, i) => {
    const value = job.result!.affinity!.value.toFixed(2).padStart(7);
    const name = (job.name ?? `#${job.batchIndex ?? '?'}`).slice(0, nameWidth).padEnd(nameWidth);
    print(`  ${String(i + 1).padStart(2)}. ${value}  ${name}  ${job.ligand.smiles}`);
  });
}

function printResumeHint(
  print: (line?: string) => void,
  program: string,
  batchId: string,
  url: string,
  output: OutputPlan,
): void {
  print(`\ndetached from batch ${batchId}: it keeps running on the api (Ctrl-C cancels nothing).`);
  print(`resume watching and download the results with:`);
  print(`  ${program} screen --attach ${batchId} --url ${url} --out ${quote(output.out)} --format ${output.format}`);
}

function quote(text: string): string {
  return /^[\w./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

function formatBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} kB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}
