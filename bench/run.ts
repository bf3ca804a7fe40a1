/**
 * Runs the benchmarks: `npm run bench` runs them all (http, paging, submit, subscriptions, gcp,
 * validation, vina, orchestration), `npm run bench -- http submit` the named ones. Prints
 * one markdown report and keeps it in bench/.data/last-run.md (copy the figures into
 * bench/RESULTS.md with the machine line). BENCH_CPU_PROF=1 writes CPU
 * profiles of the servers under test to bench/.data/profiles/ (summarize them with
 * `npx tsx bench/support/profile-top.ts <file>`).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { machineSummary } from './support/machine.js';
import { DATA, REPO } from './support/processes.js';
import { reportMarkdown, type BenchReport } from './support/report.js';

const BENCHES: Record<string, () => Promise<BenchReport>> = {
  http: async () => (await import('./http.bench.js')).run(),
  paging: async () => (await import('./paging.bench.js')).run(),
  submit: async () => (await import('./submit.bench.js')).run(),
  subscriptions: async () => (await import('./subscriptions.bench.js')).run(),
  gcp: async () => (await import('./gcp-stores.bench.js')).run(),
  // The colleague's vitest bench of validateBatch through RDKit, run as it is.
  validation: async () => {
    const started = performance.now();
    const vitest = spawnSync(
      process.execPath,
      ['node_modules/vitest/vitest.mjs', 'bench', '--run', 'bench/validation.bench.ts'],
      {
        cwd: REPO,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      },
    );
    const lines = (vitest.stdout + vitest.stderr)
      .split('\n')
      .filter((l) => /ligands\/s|one thread,|all cores,/.test(l) && !/^\s*[·✓]/.test(l));
    return {
      name: 'Validation: validateBatch through RDKit (bench/validation.bench.ts)',
      method: `\`vitest bench --run bench/validation.bench.ts\`, in-process, no HTTP (exit code ${vitest.status}, ${((performance.now() - started) / 1000).toFixed(0)} s).`,
      figures: [],
      notes: lines.map((l) => l.trim()),
    };
  },
  // The worker benches write their own markdown (`{ markdown }`); BENCH_VINA_ROUNDS sets the
  // Vina screen's rounds (default 2), BENCH_ORCH_* the orchestration sizes.
  vina: async () => fromMarkdown((await import('./vina-screen.bench.js')).run()),
  orchestration: async () => fromMarkdown((await import('./orchestration.bench.js')).run()),
};

async function fromMarkdown(report: Promise<{ markdown: string }>): Promise<BenchReport> {
  const { markdown } = await report;
  const name = /^## (.*)$/m.exec(markdown)?.[1] ?? 'worker bench';
  return { name, method: '', figures: [], notes: [], markdown };
}

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(name in BENCHES));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; choose from: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
const names = asked.length > 0 ? asked : Object.keys(BENCHES);
const header = `# Benchmark run ${new Date().toISOString()}\n\nMachine: ${machineSummary()}\n`;
console.log(header);
const sections: string[] = [];
let failed = false;
for (const name of names) {
  const started = performance.now();
  console.error(
    `running ${name}… (load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')})`,
  );
  try {
    const section = reportMarkdown(await BENCHES[name]!());
    sections.push(section);
    console.log(section);
    console.error(
      `load average now ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' / ')}`,
    );
  } catch (error) {
    failed = true;
    sections.push(`## ${name}\n\nFAILED: ${String(error)}\n`);
    console.error(error);
  }
  console.error(`${name} took ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
mkdirSync(DATA, { recursive: true });
writeFileSync(join(DATA, 'last-run.md'), [header, ...sections].join('\n'));
if (failed) process.exitCode = 1;
