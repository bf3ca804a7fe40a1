import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BatchDocument } from '../../schema/__generated__/graphql.js';
import { parseCsv } from '../../src/cli/client/csv.js';
import { FIXTURES } from '../support/inputs.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { fakeResult, startTestWorker, type TestWorker } from '../support/test-worker.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
// Absolute, so the CLI can run in a scratch directory (where it writes its files).
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const RECEPTOR = `${FIXTURES}vina/1iep/1iep_receptor.pdbqt`;
const BOX = `${FIXTURES}vina/1iep/1iep_receptor.box.txt`;
const SAMPLE_LIGANDS = join(ROOT, 'examples/abl1-ligands.smi');

// The CLI's own default must not leak in from the developer's shell.
const { OMTX_URL: _ignored, ...environment } = process.env;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI as a real child process (stdout is a pipe: the non-TTY progress lines). */
function cli(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; onStdout?: (text: string, kill: () => void) => void },
) {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd: options.cwd,
    env: { ...environment, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  const interrupt = () => {
    if (!interrupted) child.kill('SIGINT');
    interrupted = true;
  };
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    options.onStdout?.(stdout, interrupt);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function csvRows(path: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(readFileSync(path, 'utf8'));
  return rows.map((row) => Object.fromEntries(header!.map((h, i) => [h, row[i] ?? ''])));
}

let server: TestServer;
let worker: TestWorker;
let url: string;
let cwd: string;

beforeAll(async () => {
  worker = await startTestWorker(() => server.app.jobs);
  server = await startTestServer({ OMTX_WORKER_URL: worker.url });
  url = `${server.url}/graphql`;
});

afterAll(async () => {
  await server.close();
  await worker.close();
});

beforeAllScratch();
function beforeAllScratch() {
  beforeAll(() => void (cwd = mkdtempSync(join(tmpdir(), 'omtx-cli-'))));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));
}

afterEach(() => worker.setHandler(async (job) => ({ result: fakeResult(job) })));

describe('omtx screen', () => {
  it('screens the sample ligands, prints progress and the top five, and writes the CSV', async () => {
    const run = await cli(
      ['screen', '--ligands', SAMPLE_LIGANDS, '--receptor', RECEPTOR, '--box', BOX, '--out', 'abl1.csv', '--url', url],
      { cwd },
    );

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^submitted batch \S+ "abl1-ligands\.smi vs 1iep_receptor": 8 ligands$/m);
    expect(run.stdout).toMatch(/^progress COMPLETED 100\.0% 8\/8 done \(8 completed\)$/m);
    expect(run.stdout).toMatch(/^batch \S+ COMPLETED: 8 completed, 0 failed, 0 cancelled of 8/m);
    expect(run.stdout).toMatch(/^wrote abl1\.csv \(CSV, [\d.]+ (B|kB)\)$/m);
    // fakeResult scores index i as -5 - (i % 7) - i/1000: index 6 (paracetamol) is best, then 5.
    expect(run.stdout).toMatch(
      /^top 5 of 8 by affinity \(kcal\/mol, lower binds tighter\):\n\s+1\.\s+-11\.01\s+paracetamol\s+CC\(=O\)Nc1ccc\(O\)cc1\n\s+2\.\s+-10\.01\s+ibuprofen /m,
    );
    expect(run.stdout.match(/^\s+\d\. /gm)).toHaveLength(5);

    const rows = csvRows(join(cwd, 'abl1.csv'));
    expect(rows).toHaveLength(8);
    expect(Object.keys(rows[0]!)).toEqual(expect.arrayContaining(['rank', 'name', 'input_smiles', 'affinity', 'status']));
    expect(rows.map((r) => r.name).sort()).toEqual(
      ['aspirin', 'caffeine', 'dasatinib', 'diazepam', 'ibuprofen', 'imatinib', 'nilotinib', 'paracetamol'].sort(),
    );
    expect(rows.every((r) => r.status === 'COMPLETED')).toBe(true);
  });

  it('reads a CSV ligand list with --center/--size and writes a JSON export', async () => {
    const ligands = join(cwd, 'ligands.csv');
    writeFileSync(ligands, 'smiles,name,note\nCCO,"ethanol, absolute",x\n"CC(=O)Oc1ccccc1C(=O)O",aspirin,\n');
    const run = await cli(
      [
        'screen',
        '--ligands',
        ligands,
        '--receptor',
        RECEPTOR,
        '--center',
        '15.19,53.903,16.917',
        '--size',
        '20,20,20',
        '--format',
        'json',
        '--url',
        url,
      ],
      { cwd },
    );

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^wrote results\.json \(JSON, /m);
    const exported = JSON.parse(readFileSync(join(cwd, 'results.json'), 'utf8')) as { results: { name: string }[] };
    expect(exported.results.map((r) => r.name).sort()).toEqual(['aspirin', 'ethanol, absolute']);
  });

  it('with --skip-invalid screens the valid ligands and prints the skipped one with its line', async () => {
    const ligands = join(cwd, 'some-bad.smi');
    writeFileSync(ligands, '# two good, one bad\nCCO ethanol\nC1CC broken-ring\nCC(=O)Nc1ccc(O)cc1 paracetamol\n');
    const run = await cli(
      ['screen', '--ligands', ligands, '--receptor', RECEPTOR, '--box', BOX, '--skip-invalid', '--out', 'some.csv', '--url', url],
      { cwd },
    );

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/: 2 ligands, 1 skipped$/m);
    expect(run.stdout).toMatch(/^\s+skipped line 3 \(broken-ring\) C1CC: \S/m);
    expect(
      csvRows(join(cwd, 'some.csv'))
        .map((r) => r.name)
        .sort(),
    ).toEqual(['ethanol', 'paracetamol']);
  });

  it('without --skip-invalid exits 2, naming every bad line and the flag that would skip them', async () => {
    const ligands = join(cwd, 'bad.smi');
    writeFileSync(ligands, 'CCO ethanol\nC1CC broken-ring\nCC(C open-branch\n');
    const run = await cli(['screen', '--ligands', ligands, '--receptor', RECEPTOR, '--box', BOX, '--url', url], { cwd });

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/the api refused the screen \(2 problems\)/);
    expect(run.stderr).toMatch(/--ligands line 2 \(broken-ring\) C1CC: /);
    expect(run.stderr).toMatch(/--ligands line 3 \(open-branch\) CC\(C: /);
    expect(run.stderr).toMatch(/add --skip-invalid/);
  });

  it('exits 2 with a message naming the flag for bad arguments', async () => {
    // A few end to end; input-files.test.ts checks every flag's message in-process.
    const base = ['--receptor', RECEPTOR, '--url', url];
    const cases: [string[], RegExp][] = [
      [['--receptor', RECEPTOR, '--box', BOX], /--ligands: required/],
      [['--ligands', SAMPLE_LIGANDS, ...base, '--center', '1,2', '--size', '20,20,20'], /--center: expected three numbers/],
      [['--ligands', SAMPLE_LIGANDS, ...base, '--box', BOX, '--format', 'xml'], /--format: expected one of CSV, JSON, SDF/],
      [['--ligands', SAMPLE_LIGANDS, ...base, '--box', BOX, '--colour'], /--colour: Unknown option/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli(['screen', ...args], { cwd })));
    runs.forEach((run, i) => {
      expect({ args: cases[i]![0], code: run.code }).toEqual({ args: cases[i]![0], code: 2 });
      expect(run.stderr).toMatch(cases[i]![1]);
    });
  });

  it('exits 1 and lists why when every ligand failed', async () => {
    worker.setHandler(async () => ({ error: 'vina crashed' }));
    const run = await cli(
      ['screen', '--ligands', SAMPLE_LIGANDS, '--receptor', RECEPTOR, '--box', BOX, '--out', 'failed.csv', '--url', url],
      { cwd },
    );

    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^batch \S+ FAILED: 0 completed, 8 failed/m);
    expect(run.stdout).toMatch(/^\s+failed line 6 \(imatinib\): BAD_INPUT vina crashed$/m);
    expect(run.stdout).toMatch(/…and 3 more failed/);
    expect(run.stdout).toMatch(/^no ligand has an affinity$/m);
    expect(csvRows(join(cwd, 'failed.csv')).every((r) => r.status === 'FAILED')).toBe(true);
  });

  it('detaches on Ctrl-C without cancelling, and --attach resumes and downloads the results', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    worker.setHandler(async (job) => {
      await gate;
      return { result: fakeResult(job) };
    });
    const args = [
      'screen',
      '--ligands',
      SAMPLE_LIGANDS,
      '--receptor',
      RECEPTOR,
      '--box',
      BOX,
      '--out',
      'later.csv',
      '--url',
      url,
    ];
    let detached: CliRun;
    let batchId: string | undefined;
    try {
      // Ctrl-C once the first progress line shows the subscription is live.
      detached = await cli(args, { cwd, onStdout: (out, interrupt) => /^progress /m.test(out) && interrupt() });
      batchId = /^submitted batch (\S+)/m.exec(detached.stdout)?.[1];
      const during = await server.request(BatchDocument, { id: batchId! });
      expect(during.data?.batch?.status).toBe('RUNNING');
    } finally {
      release();
    }

    expect(detached.code).toBe(130);
    expect(detached.stdout).toMatch(/detached from batch \S+: it keeps running on the api \(Ctrl-C cancels nothing\)/);
    expect(detached.stdout).toContain(`screen --attach ${batchId} --url ${url} --out later.csv --format CSV`);
    const resumed = await cli(['screen', '--attach', batchId!, '--url', url, '--out', 'later.csv'], { cwd });
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`^watching batch ${batchId} `, 'm'));
    expect(resumed.stdout).toMatch(/^progress COMPLETED 100\.0% 8\/8 done/m);
    expect(csvRows(join(cwd, 'later.csv'))).toHaveLength(8);
  });

  it('--attach to an unknown batch exits 2 naming the flag', async () => {
    const run = await cli(['screen', '--attach', 'QmF0Y2g6bm9uZQ', '--url', url], { cwd });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--attach: no batch QmF0Y2g6bm9uZQ/);
  });
});

describe('omtx demo', () => {
  it('screens imatinib and the decoys against 1IEP, writes omtx-demo-results.csv and prints the ranking', async () => {
    const run = await cli(['demo', '--url', url], { cwd });

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/"omtx demo: imatinib and decoys vs 1IEP": 6 ligands$/m);
    expect(run.stdout).toMatch(/^top 6 of 6 by affinity/m);
    expect(run.stdout).toMatch(/^imatinib ranked #\d of 6$/m);
    const rows = csvRows(join(cwd, 'omtx-demo-results.csv'));
    expect(rows.map((r) => r.name)).toContain('imatinib');
    expect(rows).toHaveLength(6);
  });

  it('says where it looked when the fixtures are missing', async () => {
    const run = await cli(['demo', '--url', url], { cwd, env: { OMTX_FIXTURES: join(cwd, 'no-fixtures') } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/the 1IEP sample is missing: looked for .*no-fixtures\/vina\/1iep\/1iep_receptor\.pdbqt/);
  });
});
