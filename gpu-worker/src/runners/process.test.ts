import { tmpdir } from 'node:os';
import { describe, expect, it, vi } from 'vitest';
import { alive } from './boltz/test-support.js';
import { MAX_CAPTURE, runTool, type ToolRunOptions, type ToolStream } from './process.js';

/** Runs a Node program as the tool, collecting its streamed lines. */
async function runNode(program: string, options: Partial<ToolRunOptions> = {}) {
  const lines: [ToolStream, string][] = [];
  const run = await runTool(process.execPath, ['-e', program], {
    cwd: tmpdir(),
    timeLimitMs: 10_000,
    onLine: (stream, line) => lines.push([stream, line]),
    ...options,
  });
  return { run, lines };
}

/** A program that starts a grandchild `sleep` (its output nowhere, so only a group kill reaches it), prints its pid and waits. */
const WITH_GRANDCHILD = `
  const grandchild = require('node:child_process').spawn('sleep', ['60'], { stdio: 'ignore' });
  console.log(grandchild.pid);
  setTimeout(() => {}, 60000);`;

/** The grandchild's pid, printed by `WITH_GRANDCHILD`. */
function grandchildOf(run: { stdout: string }): number {
  const pid = Number(run.stdout.trim());
  expect(pid).toBeGreaterThan(0);
  return pid;
}

describe('runTool', () => {
  it('streams the lines of stdout and stderr in order, a redrawn progress bar as its last state', async () => {
    const { run, lines } = await runNode(`
      process.stdout.write('Checking input data.\\nProcessing 2 inputs.\\n');
      process.stderr.write('Predicting: 0%|\\rPredicting: 50%|\\rPredicting: 100%|\\r\\n');
      process.stdout.write('no newline at the end');
    `);
    expect(run).toMatchObject({ exitCode: 0, signal: null, timedOut: false, aborted: false });
    expect(lines).toEqual([
      ['stdout', 'Checking input data.'],
      ['stdout', 'Processing 2 inputs.'],
      ['stderr', 'Predicting: 100%|'],
      ['stdout', 'no newline at the end'],
    ]);
  });

  it('delivers each line while the process still runs', async () => {
    const seen: number[] = [];
    const started = performance.now();
    await runTool(process.execPath, ['-e', 'console.log("first"); setTimeout(() => console.log("second"), 400)'], {
      cwd: tmpdir(),
      timeLimitMs: 10_000,
      onLine: () => seen.push(performance.now() - started),
    });
    expect(seen).toHaveLength(2);
    expect(seen[1]! - seen[0]!).toBeGreaterThan(300);
  });

  it('captures stdout and stderr as they were, also when they are streamed', async () => {
    const program = `process.stdout.write('a\\r\\nb'); process.stderr.write('warning\\n');`;
    const streamed = await runNode(program);
    const captured = await runTool(process.execPath, ['-e', program], { cwd: tmpdir(), timeLimitMs: 10_000 });
    for (const run of [streamed.run, captured]) expect(run).toMatchObject({ stdout: 'a\r\nb', stderr: 'warning\n' });
  });

  it('keeps only the first MAX_CAPTURE characters of a runaway output', async () => {
    const { run } = await runNode(`process.stdout.write('x'.repeat(${3 * MAX_CAPTURE}))`, { onLine: undefined });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toHaveLength(MAX_CAPTURE);
  });

  it('sets env over this process’s environment', async () => {
    const { lines } = await runNode('console.log(process.env.PYTHONUNBUFFERED); console.log(process.env.PATH)', {
      env: { PYTHONUNBUFFERED: '1' },
    });
    expect(lines).toEqual([
      ['stdout', '1'],
      ['stdout', process.env.PATH],
    ]);
  });

  it('reports the exit code', async () => {
    const { run } = await runNode('process.exit(3)');
    expect(run).toMatchObject({ exitCode: 3, signal: null, timedOut: false, aborted: false });
    expect(run.seconds).toBeGreaterThan(0);
  });

  it('reports a signal that was not ours', async () => {
    const { run } = await runNode('process.kill(process.pid, "SIGTERM"); setTimeout(() => {}, 60000)');
    expect(run).toMatchObject({ exitCode: null, signal: 'SIGTERM', timedOut: false, aborted: false });
  });

  it('kills the process and everything it started at the time limit', async () => {
    const started = performance.now();
    const { run } = await runNode(WITH_GRANDCHILD, { timeLimitMs: 500 });
    expect(run).toMatchObject({ exitCode: null, signal: 'SIGKILL', timedOut: true, aborted: false });
    expect(performance.now() - started).toBeLessThan(5_000);
    // It may take a moment to die.
    await vi.waitFor(() => expect(alive(grandchildOf(run))).toBe(false), { timeout: 2_000 });
  });

  it('kills the process and everything it started when the signal aborts', async () => {
    const controller = new AbortController();
    const { run } = await runNode(WITH_GRANDCHILD, {
      signal: controller.signal,
      // Abort once the grandchild is running, so that its pid has been printed.
      onLine: () => controller.abort(),
    });
    expect(run).toMatchObject({ exitCode: null, signal: 'SIGKILL', timedOut: false, aborted: true });
    await vi.waitFor(() => expect(alive(grandchildOf(run))).toBe(false), { timeout: 2_000 });
  });

  it('does not start when the signal has already aborted', async () => {
    const { run, lines } = await runNode('console.log("started")', { signal: AbortSignal.abort() });
    expect(run).toMatchObject({ exitCode: null, signal: null, timedOut: false, aborted: true, stdout: '' });
    expect(lines).toEqual([]);
  });

  it('kills the helpers still holding the output once the process has exited', async () => {
    const started = performance.now();
    const { run, lines } = await runNode(
      `const helper = require('node:child_process').spawn('sleep', ['60'], { stdio: 'inherit' });
       console.log(helper.pid);
       helper.unref();`,
    );
    expect(run.exitCode).toBe(0);
    expect(performance.now() - started).toBeLessThan(5_000);
    await vi.waitFor(() => expect(alive(Number(lines[0]![1]))).toBe(false), { timeout: 2_000 });
  });

  it('rejects when the executable does not exist', async () => {
    await expect(runTool('/nonexistent/tool', [], { cwd: tmpdir(), timeLimitMs: 1_000 })).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
