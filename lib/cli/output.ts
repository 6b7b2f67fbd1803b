/** Terminal output of the CLI: aligned tables, durations and a progress bar. Pure except the bar's writes. */

/** Renders rows as a left-aligned text table with a header line. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Renders key/value pairs, keys aligned. */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v.includes('\n') ? `\n${v.replace(/^/gm, '  ')}` : v}`).join('\n');
}

/** A human duration: `850 ms`, `12.5 s`, `3 min`, `2.0 h`. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/**
 * Parses a duration: milliseconds as a plain number, or a number with `ms`, `s`, `m`, `h` or `d`.
 * Returns null for anything else.
 * @example parseDuration('30s') // 30000
 */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return null;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * unit);
}

/** The text of a progress bar: `label [#####.....] 5/10  50%`. */
export function renderBar(label: string, done: number, total: number, width = 24): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * width);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${String(Math.round(ratio * 100)).padStart(3)}%`;
}

/** Where a progress bar draws: a TTY is redrawn in place; anything else gets one final line. */
export interface BarStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * A progress bar on stderr (so that stdout stays clean for `--json` and pipes).
 * @example
 * const bar = new ProgressBar(process.stderr, 'enqueued', 250);
 * bar.update(100); bar.finish();
 */
export class ProgressBar {
  private done = 0;
  private lastDraw = 0;

  constructor(
    private readonly stream: BarStream,
    private readonly label: string,
    private total: number,
  ) {}

  /**
   * Sets how many are done (and, for a bar whose end is learnt on the way, such as a job's
   * reported steps, the new total); redraws at most ten times a second on a TTY.
   */
  update(done: number, suffix = '', total = this.total): void {
    this.done = done;
    this.total = total;
    const now = Date.now();
    if (this.stream.isTTY && (now - this.lastDraw >= 100 || done >= this.total)) {
      this.lastDraw = now;
      this.stream.write(`\r${renderBar(this.label, done, this.total)}${suffix}\x1b[K`);
    }
  }

  /** Draws the final state and ends the line. */
  finish(suffix = ''): void {
    this.stream.write(`${this.stream.isTTY ? '\r' : ''}${renderBar(this.label, this.done, this.total)}${suffix}${this.stream.isTTY ? '\x1b[K' : ''}\n`);
  }
}
