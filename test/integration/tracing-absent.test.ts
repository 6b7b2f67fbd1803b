/**
 * Without `@opentelemetry/api` (an optional peer dependency) nothing changes and nothing breaks:
 * the built package, in a Node process where every `@opentelemetry/*` import fails to resolve,
 * enqueues (one job, a batch, through the enqueue Lambda with a trace header) and runs jobs with a
 * retry as always, records no trace on the items, and still records a context given explicitly.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { dropTable, ddbEndpoint, testClient } from '../helpers/ddb.ts';

const tableName = `no-otel-${randomUUID().slice(0, 8)}`;
afterAll(async () => {
  const client = testClient();
  await dropTable(client, tableName);
  client.destroy();
});

function runWithoutOtel(): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = 'test/fixtures/no-otel';
  return new Promise((resolve) => {
    execFile('node', ['--import', `./${dir}/hide-otel.mjs`, `${dir}/run.mjs`, ddbEndpoint(), tableName], { env: { ...process.env, NODE_NO_WARNINGS: '1' }, timeout: 45_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe('without @opentelemetry/api', () => {
  it('enqueues and runs jobs as before, records no trace, and keeps an explicit one', async () => {
    const run = await runWithoutOtel();
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // The enqueue Lambda logs a line (Powertools) before the fixture's own result line.
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(out.tracing).toBe(false);
    expect(out.report).toMatchObject({ claimed: 8, retried: 4, completed: 4, failed: 0 });
    expect(out.items).toEqual({
      plain: { status: 'completed', attempts: 2, trace_parent: null, runs: 2 },
      explicit: { status: 'completed', attempts: 2, trace_parent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', runs: 2 },
      batch: { status: 'completed', attempts: 2, trace_parent: null, runs: 2 },
      lambda: { status: 'completed', attempts: 2, trace_parent: null, runs: 2 },
    });
  });
});
