import type { BatchEvent } from './watch-batch.js';

type Progress = BatchEvent['progress'];

/** Shows a batch's progress while it runs. */
export interface ProgressView {
  update(event: BatchEvent): void;
  /** Leaves the cursor on a fresh line, ready for other output. */
  close(): void;
}

export interface ProgressViewOptions {
  /**
   * On a non-TTY, the least time between two printed lines; the first event and the
   * terminal one are always printed.
   * @default 5_000 // 5 seconds
   */
  lineIntervalMs?: number;
  now?: () => number;
}

/** A redrawn one-line bar on a terminal, a throttled line per event elsewhere (logs, CI). */
export function createProgressView(stream: NodeJS.WriteStream, options: ProgressViewOptions = {}): ProgressView {
  return stream.isTTY ? new BarView(stream, options.now ?? Date.now) : new LineView(stream, options);
}

class BarView implements ProgressView {
  private readonly started: number;
  private last: BatchEvent | null = null;
  // Redraws each second so the elapsed time moves while no event arrives.
  private readonly timer = setInterval(() => this.draw(), 1_000).unref();

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly now: () => number,
  ) {
    this.started = now();
  }

  update(event: BatchEvent): void {
    this.last = event;
    this.draw();
  }

  close(): void {
    clearInterval(this.timer);
    if (this.last) this.stream.write('\n');
  }

  private draw(): void {
    if (!this.last) return;
    const { progress, batch } = this.last;
    const text = ` ${progress.percent.toFixed(1).padStart(5)}%  ${counters(progress)}  ${eta(progress, batch.status)}  ${formatDuration((this.now() - this.started) / 1000)} elapsed`;
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - text.length - 3));
    const filled = Math.round((progress.percent / 100) * width);
    const bar = `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
    // \r plus "erase line" redraws in place without scrolling.
    this.stream.write(`\r\x1b[2K${bar}${text}`);
  }
}

class LineView implements ProgressView {
  private lastPrinted = -Infinity;
  private lastLine = '';
  private readonly interval: number;
  private readonly now: () => number;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    options: ProgressViewOptions,
  ) {
    this.interval = options.lineIntervalMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  update({ progress, batch }: BatchEvent): void {
    const terminal = batch.status === 'COMPLETED' || batch.status === 'FAILED' || batch.status === 'CANCELLED';
    const now = this.now();
    if (!terminal && now - this.lastPrinted < this.interval) return;
    const line = ['progress', batch.status, `${progress.percent.toFixed(1)}%`, counters(progress), eta(progress, batch.status)]
      .filter(Boolean)
      .join(' ');
    if (line === this.lastLine) return;
    this.stream.write(`${line}\n`);
    this.lastPrinted = now;
    this.lastLine = line;
  }

  close(): void {}
}

function counters(p: Progress): string {
  const ended = p.completed + p.failed + p.cancelled;
  const extra = [p.failed ? `${p.failed} failed` : '', p.cancelled ? `${p.cancelled} cancelled` : ''].filter(Boolean);
  return `${ended}/${p.total} done (${p.completed} completed${extra.length ? `, ${extra.join(', ')}` : ''})`;
}

function eta(p: Progress, status: string): string {
  if (status !== 'PENDING' && status !== 'RUNNING') return '';
  return p.etaSeconds === null ? 'ETA …' : `ETA ${formatDuration(p.etaSeconds)}`;
}

/** `75` → `1m15s`, `3725` → `1h02m`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
