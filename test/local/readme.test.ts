/**
 * The README says what the code does: the stage messages it quotes are the ones the CDK app
 * throws, the drain report fields it lists are the report's, and its AWS section names every
 * Lambda function the construct creates.
 */
import { readdirSync, readFileSync } from 'node:fs';
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

  it('names every Lambda function the construct defines', () => {
    const names = readdirSync('infra')
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [...readFileSync(`infra/${f}`, 'utf8').matchAll(/(?:functionName: |this\.fn\('\w+', )`jobtable-\$\{stage\}-([a-z-]+)`/g)].map((m) => m[1]!));
    expect(names.sort()).toEqual(['enqueue', 'schedule-target', 'stream', 'worker']);
    for (const n of names) expect(readme).toContain(`\`jobtable-<stage>-${n}\``);
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
