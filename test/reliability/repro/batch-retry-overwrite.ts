/**
 * Reproduction of a core issue found by the fault-injection work (not fixed; see
 * docs/reliability.md): `enqueueMany` writes with BatchWriteItem, which has no conditions. When a
 * batch reaches the table but the caller sees an error (HTTP 500, connection reset), the SDK
 * retries the identical batch; if a worker claimed one of its jobs in between, the retry
 * overwrites the claimed item with the fresh pending job: the claim's token and lease vanish,
 * `attempts` goes back to 0, the first worker's completion is discarded as stale and the job runs
 * again.
 *
 * Run: `npx tsx test/reliability/repro/batch-retry-overwrite.ts` (starts its own DynamoDB Local).
 * Exits 1 while the issue exists, 0 once a claimed job survives the retried batch.
 */
import { createJobsTable, JobQueue } from '../../../lib/index.ts';
import { localClient, startDynamoDbLocal } from '../../../lib/local/dynamodb-local.ts';
import { claimJob } from '../../../lib/store/claim-job.ts';
import { queryDue } from '../../../lib/store/query-due.ts';
import { faultError } from '../helpers/faults.ts';

async function main(): Promise<number> {
  const ddb = await startDynamoDbLocal({ startTimeoutMs: 120_000 });
  try {
    const tableName = 'repro-batch';
    const producerClient = localClient(ddb.endpoint);
    const workerClient = localClient(ddb.endpoint);
    await createJobsTable(workerClient, tableName);
    const worker = new JobQueue({ tableName, client: workerClient, shardCount: 1 });
    let claimedId: string | undefined;
    let lost = false;
    producerClient.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'BatchWriteItemCommand' || lost) return next(args);
        lost = true;
        await next(args); // the batch is written...
        // ...a worker claims one of its jobs before the producer's SDK retries...
        const read = await queryDue(worker.store, 'default', 0, 25);
        const claim = await claimJob(worker.store, read.candidates[0]!, 'repro-worker', 2_000);
        claimedId = claim?.job.id;
        throw faultError('http500', 'BatchWriteItemCommand'); // ...and the producer saw a 500.
      },
      { step: 'deserialize', name: 'loseBatchResponse', priority: 'high' },
    );
    const producer = new JobQueue({ tableName, client: producerClient, shardCount: 1 });
    await producer.enqueueMany([{ type: 'noop', payload: { a: 1 } }, { type: 'noop', payload: { a: 2 } }]);
    if (!claimedId) throw new Error('the worker claimed nothing; the reproduction did not run');
    const job = await worker.getJob(claimedId);
    const overwritten = job?.status !== 'processing';
    console.log(JSON.stringify({ claimedId, statusAfterRetriedBatch: job?.status, attempts: job?.attempts, leaseUntil: job?.leaseUntil, overwritten }));
    producerClient.destroy();
    workerClient.destroy();
    return overwritten ? 1 : 0;
  } finally {
    await ddb.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
