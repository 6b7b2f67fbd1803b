import { startDynamoDbLocal } from '../lib/local/dynamodb-local.ts';
import { benchLimits } from './parts/limits.ts';
import { FULL_SIZES, QUICK_SIZES } from './lib/context.ts';
const ddb = await startDynamoDbLocal();
try {
  const quick = process.argv.includes('--quick');
  const r = await benchLimits({ endpoint: ddb.endpoint, sizes: quick ? QUICK_SIZES : { ...FULL_SIZES, costJobs: 200 }, quick, log: (m) => console.error(m) });
  console.log(JSON.stringify(r, null, 1));
} finally { await ddb.stop(); }
