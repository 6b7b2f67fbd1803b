/**
 * The `jobtable` binary, run as a child process against a local stack started here (found through
 * the stack's state file, as a user's shell would) and against a table named with --table:
 * help, single jobs, bad input, cancel/retry, exit codes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ddbEndpoint } from '../helpers/ddb.ts';
import { startTestStack } from './stack.ts';
import type { TestStack } from './stack.ts';
import { runCli } from './cli-runner.ts';

let t: TestStack;

const cli = (args: string[], env: Record<string, string> = {}) => runCli(t.dataDir, args, env);

beforeAll(async () => {
  t = await startTestStack({ queues: ['default'] });
});
afterAll(async () => t?.cleanup());

describe('jobtable CLI', () => {
  it('prints help, and exits 2 on a missing or unknown command or option', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['start', 'enqueue', 'get', 'list', 'cancel', 'retry', 'stats', 'watch', 'work', 'dashboard', 'redrive']) expect(help.stdout).toContain(`  ${c}`);
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const badOption = await cli(['stats', '--colour']);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toBe('jobtable: unknown option --colour for "stats" (see: jobtable stats --help)\n');
    const badShort = await cli(['list', '-x', '--json']);
    expect(badShort.code).toBe(2);
    expect(JSON.parse(badShort.stderr).error).toMatchObject({ code: 'USAGE', option: '-x', message: 'unknown option -x for "list" (see: jobtable list --help)' });
    const missingValue = await cli(['list', '--data-dir', t.dataDir, '--status']);
    expect(missingValue.code).toBe(2);
    expect(missingValue.stderr).toBe('jobtable: option --status needs a value (see: jobtable list --help)\n');
  });

  it('enqueue --wait prints the result of a completed job and the error of a failed one', async () => {
    const ok = await cli(['enqueue', 'send_email', '{"to":"a@example.com","subject":"Hi"}', '--wait']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^Job [0-9a-f-]{36} completed -> \{"to":"a@example.com","sentAt":"[^"]+"\}\n$/);
    const bad = await cli(['enqueue', 'flaky', '{"failTimes":5}', '--max-attempts', '1', '--wait']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^Job [0-9a-f-]{36} failed: simulated upstream failure on attempt 1 of 6 needed\n$/);
  });

  it('enqueues a job, waits for it with a progress bar, and reads it back', async () => {
    const run = await cli(['enqueue', 'send_email', '{"to":"a@example.com","subject":"Hi"}', '--wait', '--json']);
    expect(run.code).toBe(0);
    const { id, job } = JSON.parse(run.stdout);
    expect(job).toMatchObject({ id, status: 'completed', result: { to: 'a@example.com' } });
    expect(run.stderr).toMatch(/progress \[#+\] 1\/1 100% completed/);

    const human = await cli(['get', id]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/status:\s+completed/);
    expect(human.stdout).toMatch(/type:\s+send_email/);
    const missing = await cli(['get', '00000000-0000-7000-8000-000000000000']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No job 00000000-0000-7000-8000-000000000000');
  });

  it('rejects bad input with exit code 2 and writes nothing', async () => {
    const before = await t.itemCount();
    const prio = await cli(['enqueue', 'noop', '{}', '--priority', '5000']);
    expect(prio.code).toBe(2);
    expect(prio.stderr).toContain('Invalid --priority: 5000 is outside -1000 to 1000');
    const json = await cli(['enqueue', 'noop', '{oops', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr).error).toMatchObject({ code: 'VALIDATION', field: 'payload' });
    const delay = await cli(['enqueue', 'noop', '--delay', 'soon']);
    expect(delay.code).toBe(2);
    expect(delay.stderr).toContain('--delay must be a duration');
    expect(await t.itemCount()).toBe(before);
  });

  it('enqueue --group sets the job group, get shows it, list --group filters by it; a bad group exits 2 writing nothing', async () => {
    const { id } = JSON.parse((await cli(['enqueue', 'noop', '{}', '--delay', '10m', '--group', 'tenant-9', '--json'])).stdout);
    await cli(['enqueue', 'noop', '{}', '--delay', '10m', '--group', 'tenant-8']);
    const got = await cli(['get', id]);
    expect(got.stdout).toMatch(/group:\s+tenant-9/);
    const listed = JSON.parse((await cli(['list', '--group', 'tenant-9', '--json'])).stdout) as { jobs: Array<{ id: string; group: string }> };
    expect(listed.jobs.map((j) => [j.id, j.group])).toEqual([[id, 'tenant-9']]);
    const before = await t.itemCount();
    const bad = await cli(['enqueue', 'noop', '{}', '--group', 'has space', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr).error).toMatchObject({ code: 'VALIDATION', field: 'options.group' });
    expect(await t.itemCount()).toBe(before);
  });

  it('cancels and retries, with exit 1 when the job is in the wrong state', async () => {
    const { id } = JSON.parse((await cli(['enqueue', 'noop', '{}', '--delay', '10m', '--json'])).stdout);
    const cancel = await cli(['cancel', id]);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toContain(`Cancelled job ${id} (now cancelled)`);
    const again = await cli(['cancel', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is cancelled: only pending jobs can be cancelled');
    const retry = await cli(['retry', id, '--json']);
    expect(retry.code).toBe(0);
    expect(JSON.parse(retry.stdout)).toMatchObject({ id, retried: true });
  });

  it('exits 3 when no local stack runs, and talks to a named table with --table', async () => {
    const none = await cli(['stats', '--data-dir', mkdtempSync(join(tmpdir(), 'jobtable-none-'))]);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('No local stack is running');
    const creds = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
    const named = await cli(['stats', '--table', t.stack.tableName, '--endpoint', ddbEndpoint(), '--region', 'local', '--json'], creds);
    expect(named.code).toBe(0);
    expect(JSON.parse(named.stdout).counts.completed).toBeGreaterThanOrEqual(1);
    const missing = await cli(['stats', '--table', 'no-such-table', '--endpoint', ddbEndpoint(), '--region', 'local'], creds);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('cannot reach the queue');
  });
});
