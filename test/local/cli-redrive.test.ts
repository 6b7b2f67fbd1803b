/**
 * `jobtable redrive` in-process, on a terminal: Ctrl-C (the command's signal) stops it after the
 * page in flight with exit code 130 and the command that resumes it; running that command finishes
 * the same redrive, and the bar draws jobs examined out of the candidates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/run.ts';
import { PermanentJobError } from '../../lib/index.ts';
import { ddbEndpoint, freshQueue } from '../helpers/ddb.ts';

let q: Awaited<ReturnType<typeof freshQueue>>;
beforeAll(async () => {
  // `--table` connects with the standard credential chain; DynamoDB Local accepts any key.
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  q = await freshQueue({ shardCount: 2 });
  await q.queue.enqueueMany(Array.from({ length: 150 }, (_, i) => ({ type: 'sync', payload: { i }, options: { queue: 'dead', maxAttempts: 1 } })));
  await q.queue.processJobs({ sync: () => Promise.reject(new PermanentJobError('upstream 503')) }, { queue: 'dead', concurrency: 16 });
});
afterAll(async () => q?.cleanup());

/** A terminal that records what is written to it, and calls `onWrite` with each write. */
function terminal(onWrite: (text: string) => void = () => {}) {
  const writes: string[] = [];
  return { writes, stream: { isTTY: true, write: (s: string) => (writes.push(s), onWrite(s), true) } as unknown as NodeJS.WritableStream & { isTTY: boolean } };
}

describe('jobtable redrive on a terminal', () => {
  it('stops on Ctrl-C with exit code 130 and the resume command, which then finishes the same redrive', async () => {
    const where = ['--table', q.tableName, '--endpoint', ddbEndpoint(), '--region', 'local', '--shard-count', '2'];
    const controller = new AbortController();
    // Ctrl-C as soon as the bar first appears (the redrive has counted its candidates, read nothing yet).
    const err = terminal((s) => s.includes('0/150') && controller.abort());
    const out = terminal();
    const code = await runCli(['redrive', '--queue', 'dead', '--error', 'upstream 503', '--since', '1h', ...where], { stdout: out.stream, stderr: err.stream }, controller.signal);
    expect(code, err.writes.join('')).toBe(130);
    expect(out.writes.join('')).toContain('Redrove 0 jobs: 0 matched of 0 examined so far');
    const resume = /Interrupted\. Resume with: jobtable (redrive .*)\n/.exec(err.writes.join(''))![1]!;
    expect((await q.queue.stats({ queue: 'dead' })).counts.failed).toBe(150);

    const args = resume.match(/'[^']*'|\S+/g)!.map((a) => a.replace(/^'(.*)'$/, '$1'));
    const err2 = terminal();
    const out2 = terminal();
    expect(await runCli([...args, ...where], { stdout: out2.stream, stderr: err2.stream }, new AbortController().signal)).toBe(0);
    expect(out2.writes.join('')).toMatch(/^Redrove 150 jobs: 150 matched of 150 examined \(redrive [0-9a-f-]{36}\)\.\n$/);
    expect(err2.writes.join('')).toMatch(/\rredrive \[#{24}\] 150\/150 100% 150 redriven/);
    expect((await q.queue.stats({ queue: 'dead' })).counts).toMatchObject({ failed: 0, pending: 150 });
  });
});
