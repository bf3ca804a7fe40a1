import { tmpdir } from 'node:os';
import { describe, expect, it, vi } from 'vitest';
import { runBoltz } from './boltz-process.js';
import { alive } from './test-support.js';

/** Runs a Node program as the tool, collecting its lines. */
async function runNode(program: string, options: { timeLimitMs?: number; signal?: AbortSignal } = {}) {
  const lines: string[] = [];
  const run = await runBoltz(process.execPath, ['-e', program], {
    cwd: tmpdir(),
    timeLimitMs: options.timeLimitMs ?? 10_000,
    signal: options.signal,
    onLine: (line) => lines.push(line),
  });
  return { run, lines };
}

describe('runBoltz', () => {
  it('streams the lines of stdout and stderr, a redrawn progress bar as its last state', async () => {
    const { run, lines } = await runNode(`
      process.stdout.write('Checking input data.\\n');
      process.stderr.write('Predicting: 0%|\\rPredicting: 50%|\\rPredicting: 100%|\\n');
      process.stdout.write('no newline at the end');
    `);
    expect(run).toMatchObject({ exitCode: 0, signal: null, timedOut: false, aborted: false });
    expect(lines).toEqual(['Checking input data.', 'Predicting: 100%|', 'no newline at the end']);
  });

  it('asks Python for unbuffered output', async () => {
    const { lines } = await runNode('console.log(process.env.PYTHONUNBUFFERED)');
    expect(lines).toEqual(['1']);
  });

  it('delivers each line while the process still runs', async () => {
    const seen: number[] = [];
    const started = performance.now();
    await runBoltz(process.execPath, ['-e', 'console.log("first"); setTimeout(() => console.log("second"), 400)'], {
      cwd: tmpdir(),
      timeLimitMs: 10_000,
      onLine: () => seen.push(performance.now() - started),
    });
    expect(seen).toHaveLength(2);
    expect(seen[1]! - seen[0]!).toBeGreaterThan(300);
  });

  it('kills the process and the helpers it started at the time limit', async () => {
    // The tool starts a helper that would outlive it, then waits; both must die.
    const { run, lines } = await runNode(
      `const helper = require('node:child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'inherit' });
       console.log(helper.pid);
       setTimeout(() => {}, 60000);`,
      { timeLimitMs: 500 },
    );
    expect(run).toMatchObject({ exitCode: null, signal: 'SIGKILL', timedOut: true, aborted: false });
    // It may take a moment to die after closing its output.
    await vi.waitFor(() => expect(alive(Number(lines[0]))).toBe(false), { timeout: 2_000 });
  });

  it('kills the helpers still holding the output once the process has exited', async () => {
    const started = performance.now();
    const { run, lines } = await runNode(
      `const helper = require('node:child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'inherit' });
       console.log(helper.pid);
       helper.unref();`,
    );
    expect(run.exitCode).toBe(0);
    expect(performance.now() - started).toBeLessThan(5_000);
    // It may take a moment to die after closing its output.
    await vi.waitFor(() => expect(alive(Number(lines[0]))).toBe(false), { timeout: 2_000 });
  });

  it('kills the process when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const { run } = await runNode('setTimeout(() => {}, 60000)', { signal: controller.signal });
    expect(run).toMatchObject({ exitCode: null, timedOut: false, aborted: true });
  });

  it('rejects when the executable does not exist', async () => {
    await expect(
      runBoltz('/nonexistent/boltz', [], { cwd: tmpdir(), timeLimitMs: 1_000, onLine: () => {} }),
    ).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
