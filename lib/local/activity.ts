/**
 * Throughput and failures over the last hour, by minute and by job type, for the dashboard's
 * chart. Fed by what the server can observe for free: the local stack's own worker events, or the
 * records of the table's DynamoDB stream (`stream-activity.ts`). Nothing here reads the table.
 */
import type { WorkerEvent } from '../types.ts';

/** What happened to a job: it completed, failed for good, or failed an attempt and will retry. */
export type ActivityKind = 'completed' | 'failed' | 'retried';

/** One observed outcome. */
export interface ActivityEntry {
  readonly queue: string;
  readonly type: string;
  readonly kind: ActivityKind;
  /** When it happened (epoch ms). */
  readonly atMs: number;
  /** How long the attempt ran, if known. */
  readonly durationMs?: number;
}

/** Counts of one minute (`t` is the minute's start, epoch ms). */
export interface ActivityMinute {
  readonly t: number;
  readonly completed: number;
  readonly failed: number;
  readonly retried: number;
}

/** Counts of one job type over the window, with the mean run time of its observed attempts. */
export interface ActivityByType {
  readonly type: string;
  readonly completed: number;
  readonly failed: number;
  readonly retried: number;
  readonly meanDurationMs: number | null;
}

/** What the dashboard gets from `GET /activity`. */
export interface ActivitySnapshot {
  /** Where the numbers come from, for people (e.g. "this stack's workers"). */
  readonly source: string;
  /** Whether there is a source at all; if not, `note` says why. */
  readonly available: boolean;
  /** Since when outcomes were observed (ISO): earlier minutes of the window show nothing. */
  readonly observedSince: string | null;
  readonly minutes: ActivityMinute[];
  readonly byType: ActivityByType[];
  readonly note?: string;
}

/** Anything that can answer `GET /activity`. */
export interface ActivitySource {
  snapshot(queue: string | undefined): ActivitySnapshot;
  /** Queues that had outcomes in the window. */
  queues?(): string[];
}

interface Tally {
  completed: number;
  failed: number;
  retried: number;
  durationMs: number;
  timed: number;
}

const MINUTE_MS = 60_000;
const emptyTally = (): Tally => ({ completed: 0, failed: 0, retried: 0, durationMs: 0, timed: 0 });

/** Options of {@link ActivityLog}. */
export interface ActivityLogOptions {
  /** Shown as the snapshot's `source`. */
  readonly source: string;
  /** Minutes kept. @default 60 */
  readonly windowMinutes?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Per-minute counters by queue and job type for a sliding window (an hour by default). Memory is
 * bounded by minutes × queues × types; older minutes are dropped as new ones arrive.
 */
export class ActivityLog implements ActivitySource {
  private readonly minutes = new Map<number, Map<string, Tally>>();
  private readonly window: number;
  private readonly now: () => number;
  private readonly source: string;
  private readonly startedAt: number;

  constructor(options: ActivityLogOptions) {
    this.source = options.source;
    this.window = options.windowMinutes ?? 60;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
  }

  /** Counts one outcome (outcomes older than the window are ignored). */
  record(entry: ActivityEntry): void {
    const minute = Math.floor(entry.atMs / MINUTE_MS) * MINUTE_MS;
    if (minute <= this.firstMinute() - MINUTE_MS) return;
    let byKey = this.minutes.get(minute);
    if (!byKey) this.minutes.set(minute, (byKey = new Map()));
    const key = `${entry.queue}\u0000${entry.type}`;
    let tally = byKey.get(key);
    if (!tally) byKey.set(key, (tally = emptyTally()));
    tally[entry.kind]++;
    if (entry.durationMs !== undefined) {
      tally.durationMs += entry.durationMs;
      tally.timed++;
    }
    this.prune();
  }

  /** The window's minutes (oldest first) and the totals by type, for one queue or all. */
  snapshot(queue: string | undefined, extra: { observedSince?: number } = {}): ActivitySnapshot {
    this.prune();
    const first = this.firstMinute();
    const byType = new Map<string, Tally>();
    const minutes: ActivityMinute[] = [];
    for (let t = first; t <= first + (this.window - 1) * MINUTE_MS; t += MINUTE_MS) {
      const row = emptyTally();
      for (const [key, tally] of this.minutes.get(t) ?? []) {
        const [q, type] = key.split('\u0000') as [string, string];
        if (queue !== undefined && q !== queue) continue;
        addInto(row, tally);
        let total = byType.get(type);
        if (!total) byType.set(type, (total = emptyTally()));
        addInto(total, tally);
      }
      minutes.push({ t, completed: row.completed, failed: row.failed, retried: row.retried });
    }
    return {
      source: this.source,
      available: true,
      observedSince: new Date(extra.observedSince ?? this.startedAt).toISOString(),
      minutes,
      byType: [...byType].map(([type, x]) => ({ type, completed: x.completed, failed: x.failed, retried: x.retried, meanDurationMs: x.timed ? Math.round(x.durationMs / x.timed) : null })).sort((a, b) => a.type.localeCompare(b.type)),
    };
  }

  /** Queues that had outcomes in the window, sorted. */
  queues(): string[] {
    this.prune();
    const names = new Set<string>();
    for (const byKey of this.minutes.values()) for (const key of byKey.keys()) names.add(key.slice(0, key.indexOf('\u0000')));
    return [...names].sort();
  }

  /** Start of the oldest minute in the window. */
  private firstMinute(): number {
    return (Math.floor(this.now() / MINUTE_MS) - this.window + 1) * MINUTE_MS;
  }

  private prune(): void {
    const first = this.firstMinute();
    for (const t of this.minutes.keys()) if (t < first) this.minutes.delete(t);
  }
}

function addInto(into: Tally, x: Tally): void {
  into.completed += x.completed;
  into.failed += x.failed;
  into.retried += x.retried;
  into.durationMs += x.durationMs;
  into.timed += x.timed;
}

/**
 * An `onEvent` callback that records a worker's outcomes in `log` (completed, retried, failed for
 * good, with run times); claims, stale outcomes and errors are not outcomes and are skipped.
 * @example
 * new Worker(queue, handlers, { queue: 'mail', onEvent: observeWorkerEvents(log, 'mail') });
 */
export function observeWorkerEvents(log: ActivityLog, queue: string, now: () => number = Date.now): (event: WorkerEvent) => void {
  return (event) => {
    const kind: ActivityKind | null = event.kind === 'completed' ? 'completed' : event.kind === 'failed' ? 'failed' : event.kind === 'retrying' ? 'retried' : null;
    if (kind && 'durationMs' in event) log.record({ queue, type: event.job.type, kind, atMs: now(), durationMs: event.durationMs });
  };
}

/** The answer when nothing observes outcomes (e.g. a table without a stream). */
export function unavailableActivity(note: string): ActivitySource {
  return { snapshot: () => ({ source: 'none', available: false, observedSince: null, minutes: [], byType: [], note }) };
}
