/** Small statistics helpers; times in milliseconds unless a name says otherwise. */

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function sortedCopy(values: Iterable<number>): Float64Array {
  return Float64Array.from(values).sort();
}

export function median(values: Iterable<number>): number {
  return percentile(sortedCopy(values), 50);
}

export const fmt = (n: number, digits = 1): string =>
  Number.isFinite(n) ? n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : String(n);

/** `hub / baseline` (or the inverse for times), as a plain number. */
export const ratio = (a: number, b: number): number => a / b;

/** A line for the summary: what, value, baseline, ratio, target and whether it was met. */
export interface Figure {
  name: string;
  value: string;
  baseline?: string;
  ratio?: string;
  target?: string;
  met?: boolean;
}

export function figuresTable(figures: Figure[]): string {
  const lines = ['| figure | value | baseline | ratio | target | met |', '| --- | --- | --- | --- | --- | --- |'];
  for (const f of figures) {
    const met = f.met === undefined ? '' : f.met ? 'yes' : '**NO**';
    lines.push(`| ${f.name} | ${f.value} | ${f.baseline ?? ''} | ${f.ratio ?? ''} | ${f.target ?? ''} | ${met} |`);
  }
  return lines.join('\n');
}
