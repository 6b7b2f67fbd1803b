/**
 * The CLI and waiting jobs, in-process on DynamoDB Local: `jobtable enqueue --depends-on` writes a
 * waiting job, `jobtable list --status waiting` lists it with what it waits for, `jobtable get`
 * shows it, and a dependency id with no record is refused (exit 2) with nothing written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/run.ts';
import { ddbEndpoint, freshQueue } from '../helpers/ddb.ts';

let q: Awaited<ReturnType<typeof freshQueue>>;
beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  q = await freshQueue({ shardCount: 2 });
});
afterAll(async () => q?.cleanup());

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const stream = (into: string[]) => ({ isTTY: false, write: (s: string) => (into.push(s), true) }) as unknown as NodeJS.WritableStream & { isTTY: boolean };
  const where = ['--table', q.tableName, '--endpoint', ddbEndpoint(), '--region', 'local', '--shard-count', '2'];
  const code = await runCli([...args, ...where], { stdout: stream(out), stderr: stream(err) }, new AbortController().signal);
  return { code, out: out.join(''), err: err.join('') };
}

describe('jobtable and waiting jobs', () => {
  it('enqueues with --depends-on, lists and shows the waiting job', async () => {
    const first = await q.queue.enqueue('a', {}, { delayMs: 3_600_000 });
    const second = await q.queue.enqueue('a', {}, { delayMs: 3_600_000 });
    const res = await cli('enqueue', 'b', '{"x":1}', '--json', '--depends-on', `${first}, ${second}`, '--on-dependency-failure', 'continue');
    expect(res.code, res.err).toBe(0);
    const id = JSON.parse(res.out).id as string;
    expect(await q.queue.getJob(id)).toMatchObject({ status: 'waiting', dependencies: { total: 2, left: 2, onFailure: 'continue', ids: [first, second] } });

    const list = await cli('list', '--status', 'waiting');
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(new RegExp(`${id}\\s+b\\s+waiting 2/2`));
    const shown = await cli('get', id);
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out).toContain(`2 jobs (${first}, ${second}): 0 done, 0 failed, 2 left (on failure: continue)`);

    const before = (await q.queue.stats()).total;
    const bad = await cli('enqueue', 'b', '--depends-on', 'no-such-job');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--depends-on');
    expect(bad.err).toContain('no job no-such-job');
    expect((await q.queue.stats()).total).toBe(before);
  });
});
