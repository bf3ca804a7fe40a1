import { pathToFileURL } from 'node:url';
import { figuresTable, type Figure } from './stats.js';
import { machineSummary } from './machine.js';

/** What one benchmark hands back to bench/run.ts. */
export interface BenchReport {
  name: string;
  /** What exactly was measured, in a sentence or three. */
  method: string;
  figures: Figure[];
  notes: string[];
  /** A bench that writes its own markdown section (the worker benches): printed as is. */
  markdown?: string;
}

export function reportMarkdown(report: BenchReport): string {
  if (report.markdown !== undefined) return `${report.markdown}\n`;
  const notes = report.notes.map((n) => `- ${n}`).join('\n');
  return `## ${report.name}\n\n${report.method}\n\n${figuresTable(report.figures)}\n${notes ? `\n${notes}\n` : ''}`;
}

/** Runs `run` when the file is the process's entry (`tsx bench/http.bench.ts`), not when imported. */
export function runIfMain(moduleUrl: string, run: () => Promise<BenchReport>): void {
  if (!process.argv[1] || pathToFileURL(process.argv[1]).href !== moduleUrl) return;
  console.log(`# ${new Date().toISOString()} — ${machineSummary()}\n`);
  run().then(
    (report) => console.log(reportMarkdown(report)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
