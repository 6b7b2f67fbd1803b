/** Pure pieces of the CLI: tables, durations, the progress bar and flag names in messages. */
import { describe, expect, it } from 'vitest';
import { formatDuration, formatTable, parseDuration, ProgressBar, renderBar } from '../../lib/cli/output.ts';
import { asFlags } from '../../lib/cli/run.ts';

describe('CLI output', () => {
  it('aligns table columns under their headers', () => {
    const text = formatTable(['ID', 'STATUS'], [['a', 'pending'], ['long-id', 'failed']]);
    expect(text.split('\n')).toEqual(['ID       STATUS', '-------  -------', 'a        pending', 'long-id  failed']);
  });

  it('parses and formats durations', () => {
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1_500);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('soon')).toBeNull();
    expect(parseDuration('-5s')).toBeNull();
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_500)).toBe('12.5 s');
    expect(formatDuration(180_000)).toBe('3 min');
    expect(formatDuration(null)).toBe('-');
  });

  it('renders a bar, redrawn in place on a TTY and as one final line elsewhere', () => {
    expect(renderBar('done', 5, 10, 10)).toBe('done [#####.....] 5/10  50%');
    expect(renderBar('done', 0, 0, 4)).toBe('done [####] 0/0 100%');
    const pipe: string[] = [];
    const bar = new ProgressBar({ isTTY: false, write: (s: string) => pipe.push(s) }, 'enqueued', 3);
    bar.update(1);
    bar.update(3);
    bar.finish();
    expect(pipe).toEqual([`${renderBar('enqueued', 3, 3)}\n`]);
    const tty: string[] = [];
    const live = new ProgressBar({ isTTY: true, write: (s: string) => tty.push(s) }, 'enqueued', 2);
    live.update(2);
    live.finish();
    expect(tty[0]).toMatch(/^\r.*2\/2 100%/);
    expect(tty.at(-1)).toMatch(/\n$/);
  });

  it('names enqueue options as their flags in messages', () => {
    expect(asFlags('Invalid options.maxAttempts: 0 is outside 1 to 1000')).toBe('Invalid --max-attempts: 0 is outside 1 to 1000');
    expect(asFlags('Invalid options.delayMs: x')).toBe('Invalid --delay: x');
    expect(asFlags('Invalid payload: y')).toBe('Invalid payload: y');
    expect(asFlags('Invalid line 3: options.priority: z')).toBe('Invalid line 3: priority: z');
  });
});
