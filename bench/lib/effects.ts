/**
 * Exactly-once effects in a worker process (the SIGKILL version of the effects test): the chaos
 * harness's `noop` handler adds 1 to a counter item of an application table, through
 * `ctx.completeWith` or a plain `UpdateItem`, while the process's client injects faults after the
 * writes and holds some transactions past their lease.
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import type { JobContext } from '../../lib/types.ts';
import { ATTR } from '../../lib/schema.ts';

/** What a worker process's handler writes, and which faults its client injects. */
export interface EffectsPlan {
  /** The application table (keyed by a string `pk`). */
  readonly appTable: string;
  /** The counter item's `pk`. */
  readonly counterKey: string;
  /**
   * `completeWith`: the handler works, then commits +1 with its completion in one transaction.
   * `plain`: the handler adds 1 with an `UpdateItem` first, then works (the completion follows).
   */
  readonly mode: 'completeWith' | 'plain';
  /** Chance that an application write's answer is lost after DynamoDB applied it (the SDK sends it again). */
  readonly lostAnswerRate: number;
  /** Chance that a job's first transaction in this process is held in the network for {@link holdMs} before it is sent. */
  readonly holdRate: number;
  /** How long a held transaction waits: longer than the lease, so another worker may take the job over. */
  readonly holdMs: number;
}

/** Writes one line to the run log (`lost <command> <pid>`, `held <id> <pid>`). */
type Log = (line: string) => void;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The action adding 1 to the plan's counter. */
function addOne(plan: EffectsPlan): TransactWriteItem {
  return { Update: { TableName: plan.appTable, Key: { pk: { S: plan.counterKey } }, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': { N: '1' } } } };
}

/** The job id a TransactWriteItems completes (its last action is the job's own update), if any. */
function transactionJob(input: unknown): string | undefined {
  const items = (input as { TransactItems?: { Update?: { Key?: Record<string, { S?: string }> } }[] }).TransactItems;
  return items?.at(-1)?.Update?.Key?.[ATTR.id]?.S;
}

/** Holds a share of the jobs' first transaction in this process past the lease, before sending it. */
function holdTransactions(client: DynamoDBClient, plan: EffectsPlan, log: Log): void {
  const seen = new Set<string>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const job = context.commandName === 'TransactWriteItemsCommand' ? transactionJob(args.input) : undefined;
      if (job && !seen.has(job)) {
        seen.add(job);
        if (Math.random() < plan.holdRate) {
          log(`held ${job} ${process.pid}`);
          await sleep(plan.holdMs);
        }
      }
      return next(args);
    },
    { step: 'initialize', name: 'jobtableHoldTransaction' },
  );
}

/** Loses the answer of a share of the application writes after DynamoDB applied them: the SDK sends them again. */
function loseAnswers(client: DynamoDBClient, plan: EffectsPlan, log: Log): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const command = context.commandName ?? 'unknown';
      const appWrite = command === 'TransactWriteItemsCommand' || (args.input as { TableName?: string }).TableName === plan.appTable;
      if (appWrite && Math.random() < plan.lostAnswerRate) {
        log(`lost ${command} ${process.pid}`);
        throw Object.assign(new Error('injected: answer lost'), { name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
      }
      return result;
    },
    // Inside the SDK's retry loop (deserialize is below the retry middleware): the SDK resends.
    { step: 'deserialize', name: 'jobtableLoseAnswer', priority: 'low' },
  );
}

/**
 * Adds the plan's faults to `client` and returns the job's work: `work()` is the handler's own
 * (interruptible) work, such as sleeping; the effect is written around it as the plan's mode says.
 */
export function effectsWork(client: DynamoDBClient, plan: EffectsPlan, log: Log): (ctx: JobContext, work: () => Promise<void>) => Promise<void> {
  holdTransactions(client, plan, log);
  loseAnswers(client, plan, log);
  return async (ctx, work) => {
    if (plan.mode === 'plain') {
      await client.send(new UpdateItemCommand(addOne(plan).Update!));
      return work();
    }
    await work();
    await ctx.completeWith([addOne(plan)]);
  };
}
