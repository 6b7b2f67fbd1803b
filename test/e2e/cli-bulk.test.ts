/**
 * The `jobtable` binary, run as a child process against a local stack started here: bulk enqueue
 * from a JSON-lines file, paged lists, stats, watch and the worker loop.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentJobError } from '../../lib/errors.ts';
import { JobQueue } from '../../lib/queue.ts';
import { startTestStack } from './stack.ts';
import type { TestStack } from './stack.ts';
import { runCli } from './cli-runner.ts';

let t: TestStack;

const cli = (args: string[], env: Record<string, string> = {}) => runCli(t.dataDir, args, env);

beforeAll(async () => {
  // bulk holds only jobs delayed by an hour, so its worker leaves them pending.
  t = await startTestStack({ queues: ['default', 'bulk'] });
});
afterAll(async () => t?.cleanup());

describe('jobtable CLI: bulk, lists, stats, watch, work', () => {
  it('bulk-enqueues a JSON-lines file with a progress bar, validating every line first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobtable-cli-'));
    const good = join(dir, 'jobs.jsonl');
    writeFileSync(good, Array.from({ length: 120 }, (_, i) => JSON.stringify({ type: 'noop', payload: { i }, priority: i % 3 })).join('\n') + '\n');
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, [JSON.stringify({ type: 'noop', payload: {} }), JSON.stringify({ type: 'noop', payload: {} }), JSON.stringify({ type: 'noop', payload: {}, priority: 'high' })].join('\n'));
    const before = await t.itemCount();
    const refused = await cli(['enqueue', '--file', bad, '--queue', 'bulk']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Invalid line 3: priority: expected an integer');
    expect(await t.itemCount()).toBe(before);

    const run = await cli(['enqueue', '--file', good, '--queue', 'bulk', '--delay', '1h', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).ids).toHaveLength(120);
    expect(run.stderr).toMatch(/enqueued \[#+\] 120\/120 100%/);
    const stats = await cli(['stats', '--queue', 'bulk', '--json']);
    expect(JSON.parse(stats.stdout).counts.pending).toBe(120);

    const list = await cli(['list', '--status', 'pending', '--queue', 'bulk', '--limit', '50']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TYPE\s+STATUS\s+PRIO\s+ATTEMPTS\s+DUE/);
    expect(lines).toHaveLength(52);
    expect(list.stderr).toMatch(/More: jobtable list --status pending --cursor \S+/);
  });

  it('shows stats as a table, watches the counts, and watches a failing job to exit 1', async () => {
    const stats = await cli(['stats']);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/STATUS\s+JOBS/);
    expect(stats.stdout).toMatch(/completed\s+\d+/);
    const watch = await cli(['watch', '--iterations', '2', '--interval', '100ms', '--json']);
    expect(watch.code).toBe(0);
    const snapshots = watch.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(snapshots).toHaveLength(2);
    expect(snapshots[1].counts).toHaveProperty('pending');

    const { id } = JSON.parse((await cli(['enqueue', 'flaky', '{"failTimes":3}', '--max-attempts', '1', '--json'])).stdout);
    const watched = await cli(['watch', id, '--interval', '200ms', '--timeout', '30s']);
    expect(watched.code).toBe(1);
    expect(watched.stdout).toContain(`Job ${id} failed: simulated upstream failure`);
  });

  it('works a queue with --max-jobs and reports what it did', async () => {
    // A queue the stack does not serve: the jobs come from another producer, `jobtable work` runs them.
    const producer = new JobQueue({ tableName: t.stack.tableName, client: t.stack.client, shardCount: 4 });
    for (let i = 0; i < 3; i++) await producer.enqueue('noop', { i }, { queue: 'cli-work' });
    const run = await cli(['work', '--handlers', 'functions/jobs/index.ts', '--queue', 'cli-work', '--max-jobs', '3', '--concurrency', '2', '--json']);
    expect(run.code).toBe(0);
    const events = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.filter((e) => e.kind === 'completed')).toHaveLength(3);
    expect(events.at(-1).report).toMatchObject({ claimed: 3, completed: 3, stoppedBecause: 'maxJobs' });
    expect((await t.stack.queue.stats({ queue: 'cli-work' })).counts.completed).toBe(3);
  });

  it('redrives the dead letters of one group with --group (resumable, the group in the resume command); a malformed group names the flag', async () => {
    const producer = new JobQueue({ tableName: t.stack.tableName, client: t.stack.client, shardCount: 4 });
    const jobs = (group: string, n: number) => Array.from({ length: n }, (_, i) => ({ type: 'sync', payload: { i }, options: { queue: 'dead-g', maxAttempts: 1, group } }));
    await producer.enqueueMany([...jobs('acme', 5), ...jobs('globex', 3)]);
    await producer.processJobs({ sync: () => { throw new PermanentJobError('upstream 503'); } }, { queue: 'dead-g' });

    const bad = await cli(['redrive', '--queue', 'dead-g', '--group', 'not a group']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--group must be a string of 1 to');
    const part = await cli(['redrive', '--queue', 'dead-g', '--group', 'acme', '--limit', '2', '--json']);
    expect(part.code).toBe(0);
    expect(JSON.parse(part.stdout)).toMatchObject({ complete: false, examined: 2 });
    const resume = /Resume with: (jobtable redrive .*)$/m.exec(part.stderr)![1]!;
    expect(resume).toContain('--group acme');
    const rest = await cli([...resume.replace(/^jobtable /, '').split(' '), '--json']);
    expect(JSON.parse(rest.stdout)).toMatchObject({ complete: true, examined: 8, matched: 5, redriven: 5 }); // examined: index entries of both groups
    const pendingGroups = (await producer.listJobs({ queue: 'dead-g', status: 'pending', limit: 100 })).jobs.map((j) => j.group);
    expect(pendingGroups).toEqual(Array(5).fill('acme'));
    expect((await producer.stats({ queue: 'dead-g' })).counts).toMatchObject({ pending: 5, failed: 3 });
  });

  it('redrives dead letters by filter with a progress bar, stops at --limit, prints the resume command, and resumes', async () => {
    // A queue the stack does not serve, so the jobs put back stay pending for the check.
    const producer = new JobQueue({ tableName: t.stack.tableName, client: t.stack.client, shardCount: 4 });
    await producer.enqueueMany(Array.from({ length: 12 }, (_, i) => ({ type: 'sync', payload: { i }, options: { queue: 'dead', maxAttempts: 1 } })));
    await producer.enqueueMany(Array.from({ length: 3 }, (_, i) => ({ type: 'sync', payload: { i, other: true }, options: { queue: 'dead', maxAttempts: 1 } })));
    await producer.processJobs({ sync: (p: { other?: boolean }) => { throw new PermanentJobError(p.other ? 'bad input' : 'upstream 503'); } }, { queue: 'dead' });

    const bad = await cli(['redrive', '--queue', 'dead', '--status', 'pending']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--status must be "failed" (dead letters) or "cancelled": got the string "pending"');
    const badSince = await cli(['redrive', '--queue', 'dead', '--since', 'yesterday']);
    expect(badSince.code).toBe(2);
    expect(badSince.stderr).toContain('--since must be a duration ago (30s, 5m, 1h, 7d) or an ISO-8601 time');

    const dry = await cli(['redrive', '--queue', 'dead', '--error', 'upstream', '--since', '1h', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Dry run: 12 of 15 jobs examined match; nothing was changed.');

    const part = await cli(['redrive', '--queue', 'dead', '--type', 'sync', '--error', 'upstream 503', '--since', '1h', '--limit', '6', '--json']);
    expect(part.code).toBe(0);
    const first = JSON.parse(part.stdout);
    expect(first).toMatchObject({ complete: false, examined: 6, candidates: 15 });
    expect(part.stderr).toMatch(/redrive \[#+\.*\] 6\/15 +40% \d+ redriven/);
    const resume = /Resume with: (jobtable redrive .*)$/m.exec(part.stderr)![1]!;
    expect(resume).toMatch(/--since \d{4}-\d\d-\d\dT[\d:.]+Z .*--cursor \S+$/);
    // Run what it printed, word by word (the values printed need no quotes except the error text).
    const args = resume.replace(/^jobtable /, '').match(/'[^']*'|\S+/g)!.map((a) => a.replace(/^'(.*)'$/, '$1'));
    const rest = await cli([...args, '--json']);
    expect(rest.code).toBe(0);
    expect(JSON.parse(rest.stdout)).toMatchObject({ complete: true, examined: 15, matched: 12, redriven: 12, skipped: 0, redriveId: first.redriveId });
    expect(rest.stderr).toMatch(/redrive \[#+\] 15\/15 100% 12 redriven/);
    const counts = (await producer.stats({ queue: 'dead' })).counts;
    expect(counts).toMatchObject({ pending: 12, failed: 3 });
  });
});
