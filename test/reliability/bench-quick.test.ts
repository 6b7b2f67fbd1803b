/**
 * The benchmark harness in quick mode, against the test run's DynamoDB Local: every part runs
 * and reports a complete, consistent structure. It asserts shape and internal consistency (all
 * jobs drained, ratios computed from the figures beside them), never speed.
 */
import { describe, expect, it } from 'vitest';
import { runBench } from '../../bench/bench.ts';
import { renderMarkdown } from '../../bench/report.ts';
import { DEBOUNCE_ENQUEUES_PER_KEY } from '../../bench/parts/cost.ts';
import { ddbEndpoint } from '../helpers/ddb.ts';

describe('bench quick mode', () => {
  it('measures every part and reports a consistent structure', async () => {
    const r = await runBench({ quick: true, endpoint: ddbEndpoint(), log: () => {} });
    const positive = (n: number) => expect(Number.isFinite(n) && n > 0, String(n)).toBe(true);

    positive(r.raw.putPerSec);
    positive(r.raw.conditionalUpdatePerSec);
    expect(r.enqueue.enqueueVsRawPut).toBeCloseTo(r.enqueue.enqueuePerSec / r.raw.putPerSec, 2);
    expect(r.enqueue.enqueueLatencyMs.count).toBe(r.sizes.rawOps);
    expect(r.enqueue.enqueueLatencyMs.p99).toBeGreaterThanOrEqual(r.enqueue.enqueueLatencyMs.p50);

    expect(r.e2e.runs.map((x) => x.workers)).toEqual([...r.sizes.e2eWorkers]);
    for (const run of r.e2e.runs) {
      expect(run.completed).toBe(r.sizes.e2eJobs); // every job drained by the worker processes
      expect(run.stale).toBe(0);
      positive(run.jobsPerSec);
      // The workers' own meters (in the metered drain) saw the claims and completions: at least 2
      // updates per job; and not their warm-up (its jobs were enqueued before the meters were reset).
      expect(run.cost?.calls.UpdateItemCommand ?? 0).toBeGreaterThanOrEqual(2 * r.sizes.e2eJobs);
      expect(run.cost?.calls.BatchWriteItemCommand).toBeUndefined();
      expect(run.meteredLostRacesPerJob).toBeGreaterThanOrEqual(0);
    }
    expect(r.e2e.boundJobsPerSec).toBeCloseTo(r.raw.conditionalUpdatePerSec / 2, 0);
    expect(r.raw.conditionalUpdatePerSec).toBe(Math.max(...r.raw.runs.map((x) => x.conditionalUpdatePerSec)));

    // The same drain in-process, and again under simulated index lag: every job once; the timed
    // drains unmetered, priced by a metered drain of the same shape (the lagged ones only timed).
    for (const run of [...r.inProcess.runs, ...r.inProcess.lagged]) {
      expect(run.completed).toBe(r.sizes.e2eJobs);
      expect(run.stale).toBe(0);
      expect(run.ratioToBound).toBeCloseTo(run.jobsPerSec / r.e2e.boundJobsPerSec, 1);
    }
    // Put, claim and completion: at least 6 write units billed per job.
    for (const run of [...r.inProcess.runs, r.inProcess.sameSlots]) {
      expect(run.billedWriteUnitsPerJob).toBeGreaterThanOrEqual(6);
      expect(run.meteredLostRacesPerJob).toBeGreaterThanOrEqual(0);
    }
    for (const run of r.inProcess.lagged) expect(run.billedWriteUnitsPerJob).toBeNull();
    // Several workers sharing one worker's slots: every job once, and the CPU each job cost.
    const same = r.inProcess.sameSlots;
    expect(same.completed).toBe(r.sizes.e2eJobs);
    expect(same.workers).toBeGreaterThan(1);
    expect(same.workers * same.concurrency).toBe(r.inProcess.concurrencyPerWorker);
    for (const run of [...r.inProcess.runs, same]) positive(run.nodeCpuUsPerJob);
    expect(r.inProcess.lagged.map((x) => x.indexLagMs)).toEqual(r.sizes.e2eWorkers.map(() => 300));
    expect(r.inProcess.lagged[0]!.lostRaces).toBe(0); // one worker alone never races itself, lag or not
    for (const run of r.e2e.runs) expect(run.billedWriteUnitsPerJob).toBeGreaterThanOrEqual(6);

    // Cost: the happy path is a put (table + index) and two updates (table + index each).
    expect(r.cost.happy.completed).toBe(r.sizes.costJobs);
    expect(r.cost.happy.writeUnitsPerJob.table).toBeGreaterThanOrEqual(3);
    expect(r.cost.happy.writeUnitsPerJob.index).toBeGreaterThanOrEqual(2);
    expect(r.cost.happy.callsPerJob.PutItem).toBe(1);
    expect(r.cost.retryOnce.completed).toBe(r.sizes.costJobs);
    expect(r.cost.retryOnce.billedWriteUnitsPerJob).toBeGreaterThan(r.cost.happy.billedWriteUnitsPerJob);
    // Issue 12: one run per debounce key however many enqueues it merged; every FIFO job runs.
    expect(r.cost.debounce.completed * DEBOUNCE_ENQUEUES_PER_KEY).toBe(r.cost.debounce.jobs);
    expect(r.cost.fifo.completed).toBe(r.cost.fifo.jobs);
    expect(r.cost.fifo.billedWriteUnitsPerJob).toBeGreaterThan(r.cost.happy.billedWriteUnitsPerJob);
    expect(r.cost.happy.dollarsPerMillionJobs).toBeCloseTo(r.cost.happy.billedWriteUnitsPerJob * 0.625 + r.cost.happy.billedReadUnitsPerJob * 0.125, 2);

    expect(r.pickup.dueMs.count).toBe(r.sizes.pickupDue);
    expect(r.pickup.delayedMs.count).toBe(r.sizes.pickupDelayed);
    // A delayed job never starts before its runAt.
    expect(r.pickup.delayedMs.p50).toBeGreaterThanOrEqual(0);
    expect(r.pickup.idleCallsPerSec).toBeGreaterThanOrEqual(0);

    expect(r.backlog.small.pending).toBe(r.sizes.backlogs[0]);
    expect(r.backlog.large.pending).toBe(r.sizes.backlogs[1]);
    expect(r.backlog.small.claims).toBe(r.sizes.backlogClaims);
    expect(r.backlog.large.claims).toBe(r.sizes.backlogClaims);

    expect(Object.keys(r.targets).length).toBeGreaterThanOrEqual(9);
    const md = renderMarkdown(r, 'bench/results/x.json');
    expect(md).toContain('| FIFO per group, per job');
    expect(md).toContain('| debounce, per enqueue');
    for (const heading of ['## 1. Raw bound', '## 2. Enqueue', '## 3. End to end', '## 3a. The same drain in-process', '## 4. Cost per job', '## 5. Pickup latency', '## 6. Backlog scaling', '## Targets']) {
      expect(md).toContain(heading);
    }
  }, 120_000);
});
