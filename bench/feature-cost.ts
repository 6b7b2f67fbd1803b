/**
 * Part 4 of the benchmark alone (cost per job: plain, one retry, debounce, FIFO per group), for
 * quick checks of the issue 12 features without the whole harness: starts its own DynamoDB Local.
 *
 * Run: `npx tsx bench/feature-cost.ts [jobs]` (default 200); writes bench/results/feature-cost.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { startDynamoDbLocal } from '../lib/local/dynamodb-local.ts';
import { FULL_SIZES } from './lib/context.ts';
import { benchCost } from './parts/cost.ts';

const jobs = Number(process.argv[2]) || 200;
const ddb = await startDynamoDbLocal();
try {
  const cost = await benchCost({ endpoint: ddb.endpoint, sizes: { ...FULL_SIZES, costJobs: jobs }, quick: false, log: (line) => console.log(line) });
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/feature-cost.json', `${JSON.stringify(cost, null, 2)}\n`);
  for (const [name, c] of Object.entries({ plain: cost.happy, retryOnce: cost.retryOnce, debounce: cost.debounce, fifo: cost.fifo })) {
    console.log(`${name}: write ${c.writeUnitsPerJob.table} + ${c.writeUnitsPerJob.index} (billed ${c.billedWriteUnitsPerJob}), read ${c.readUnitsPerJob.table} + ${c.readUnitsPerJob.index} (billed ${c.billedReadUnitsPerJob}), calls ${JSON.stringify(c.callsPerJob)}`);
  }
} finally {
  await ddb.stop();
}
