/**
 * The README says what the code does: the stage messages it quotes are the ones the CDK app
 * throws, the drain report fields it lists are the report's, and its AWS section names every
 * Lambda function the `JobTable` construct creates, with what each may do.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageConfig } from '../../infra/config.ts';
import { freshQueue } from '../helpers/ddb.ts';

const readme = readFileSync('README.md', 'utf8');
const thrown = (stage: unknown) => {
  try {
    stageConfig(stage);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('no error');
};

describe('README', () => {
  it('quotes the stage errors exactly as the CDK app prints them', () => {
    expect(readme.split('Missing stage').length - 1).toBe(1);
    expect(readme).toContain(`\`${thrown(undefined)}\``);
    expect(readme.split('Unknown stage').length - 1).toBe(1);
    expect(readme).toContain(`\`${thrown('<name>')}\``);
  });

  it('names every Lambda function the construct defines, with its permissions', () => {
    const source = ['job-table.ts', 'scheduling.ts'].map((f) => readFileSync(`infra/${f}`, 'utf8')).join('\n');
    const ids = [...source.matchAll(/(?:\bfn|functionFactory)\('(\w+)', \{/g)].map((m) => m[1]!);
    const names = ids.map((id) => id.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase());
    expect(names.sort()).toEqual(['enqueue', 'schedule-target', 'stream', 'worker']);
    const permissions = readme.slice(readme.indexOf('**Permissions.**'), readme.indexOf('**Enqueue from another Lambda.**'));
    for (const n of names) expect(permissions.replace(/\s+/g, ' ')).toContain(`the ${n} function`);
  });

  let q: Awaited<ReturnType<typeof freshQueue>>;
  beforeAll(async () => {
    q = await freshQueue({ shardCount: 1 });
  });
  afterAll(async () => q?.cleanup());

  it('lists every field of the drain report', async () => {
    const report = await q.queue.processJobs({});
    const line = /console\.log\(report\); \/\/ \{ ([^}]+) \}/.exec(readme)![1]!;
    expect(line.split(', ').sort()).toEqual(Object.keys(report).sort());
  });
});
