/**
 * The drain loop on fake time, against an in-memory table (no DynamoDB): it fills its slots with
 * parallel claims, each job runs once, priority holds, workers sharing a queue rarely meet, and
 * stopping never strands a claimed job.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ProcessReport } from '../../lib/types.ts';
import { CandidateSource } from '../../lib/worker/drain/candidates.ts';
import { FakeTable, loopOn } from '../helpers/fake-table.ts';

/** Runs the drains to their end on fake time. */
async function finish(...runs: Promise<ProcessReport>[]): Promise<ProcessReport[]> {
  let done = false;
  const all = Promise.all(runs).finally(() => (done = true));
  for (let i = 0; i < 100_000 && !done; i++) await vi.advanceTimersByTimeAsync(5);
  return all;
}

beforeEach(() => vi.useFakeTimers({ now: 1_800_000_000_000 }));
afterEach(() => vi.useRealTimers());

describe('DrainLoop on fake time', () => {
  it('keeps its slots full with parallel claims, and runs every job once', async () => {
    const table = new FakeTable(4);
    table.add(200);
    const [report] = await finish(loopOn(table, 'w1').run(() => {}));
    expect(report).toMatchObject({ claimed: 200, completed: 200, lostRaces: 0, stoppedBecause: 'drained' });
    expect(table.maxBusy).toBe(8); // every slot in use at once
    expect(table.maxClaimsInFlight).toBeGreaterThan(1); // claims in parallel, not one per round trip
    expect(table.maxClaimsInFlight).toBeLessThanOrEqual(8);
    expect([...table.runs.values()].every((n) => n === 1)).toBe(true);
    expect(table.runs.size).toBe(200);
    expect(report!.queries / report!.claimed).toBeLessThanOrEqual(0.5);
  });

  it('claims every higher-priority job before any lower one, across shards', async () => {
    const table = new FakeTable(4);
    table.add(40, 0, 'low');
    table.add(40, 5, 'high');
    await finish(loopOn(table, 'w1', { concurrency: 4 }).run(() => {}));
    const firstLow = table.claimOrder.findIndex((id) => id.startsWith('low'));
    expect(firstLow).toBe(40);
  });

  it('four workers on one queue: every job once, and they rarely meet', async () => {
    const table = new FakeTable(16);
    table.add(1_600);
    const reports = await finish(...['a', 'b', 'c', 'd'].map((w) => loopOn(table, w, { concurrency: 8 }).run(() => {})));
    expect(reports.reduce((s, r) => s + r.completed, 0)).toBe(1_600);
    expect([...table.runs.values()].every((n) => n === 1)).toBe(true);
    for (const r of reports) expect(r.completed).toBeGreaterThan(100); // the work was shared
    const lost = reports.reduce((s, r) => s + r.lostRaces, 0);
    expect(lost / 1_600).toBeLessThanOrEqual(0.05);
  });

  it('re-reads a shard from its head every so many claims, but not more often than refreshMinIntervalMs', async () => {
    const drainWith = async (refreshMinIntervalMs: number) => {
      const table = new FakeTable(4);
      table.add(400);
      const started = Date.now();
      const [report] = await finish(loopOn(table, 'w1', { refreshEveryClaims: 8, refreshMinIntervalMs }).run(() => {}));
      expect(report!.completed).toBe(400);
      return { headReads: table.headReads, ms: Date.now() - started };
    };
    const perClaims = await drainWith(0);
    const bounded = await drainWith(200);
    // 400 claims, one re-read per 8: about 50 re-reads besides the sweeps, all but a few from the head.
    expect(perClaims.headReads).toBeGreaterThanOrEqual(40);
    // At most one re-read per 200 ms of the drain (plus the sweeps of the 4 shards, at its start and end).
    expect(bounded.headReads).toBeLessThanOrEqual(Math.ceil(bounded.ms / 200) + 1 + 2 * 4 + 2);
    expect(bounded.headReads).toBeLessThan(perClaims.headReads / 2);
  });

  it('counts the claims before a background re-read from the last sweep of every shard, not across it', async () => {
    const table = new FakeTable(4);
    const controller = new AbortController();
    const refreshes = vi.spyOn(CandidateSource.prototype, 'refreshNext');
    try {
      const run = loopOn(table, 'w1', { refreshEveryClaims: 8, pollIntervalMs: 100, signal: controller.signal }).run(() => {});
      // Five batches of 6 jobs, each found by a sweep of all 4 shards after an idle wait.
      for (let batch = 0; batch < 5; batch++) {
        table.add(6, 0, `b${batch}-`);
        await vi.advanceTimersByTimeAsync(300);
      }
      controller.abort();
      const [report] = await finish(run);
      expect(report!.completed).toBe(30);
      // 6 claims after each sweep, fewer than 8: a re-read would repeat what the sweep just read.
      expect(refreshes).not.toHaveBeenCalled();
    } finally {
      refreshes.mockRestore();
    }
  });

  it('stops at maxJobs exactly, claims in parallel notwithstanding', async () => {
    const table = new FakeTable(4);
    table.add(100);
    const [report] = await finish(loopOn(table, 'w1', { maxJobs: 10 }).run(() => {}));
    expect(report).toMatchObject({ claimed: 10, completed: 10, stoppedBecause: 'maxJobs' });
  });

  it('on abort stops claiming, and every job it claimed still runs to its end', async () => {
    const table = new FakeTable(4);
    table.add(200);
    const controller = new AbortController();
    const run = loopOn(table, 'w1', { signal: controller.signal }).run(() => {});
    await vi.advanceTimersByTimeAsync(100);
    controller.abort();
    const [report] = await finish(run);
    expect(report!.stoppedBecause).toBe('aborted');
    expect(report!.claimed).toBeGreaterThan(0);
    expect(report!.claimed).toBeLessThan(200);
    expect(report!.completed).toBe(report!.claimed);
    const processing = [...table.jobs.values()].filter((j) => j.status === 'processing');
    expect(processing).toEqual([]);
  });
});
