/**
 * Exactly-once effects: a job's completion and the handler's own writes in one
 * TransactWriteItems, fenced by the claim token.
 */
import { TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, CancellationReason, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { JobTableError, TooManyTransactItemsError, TransactionConflictError, ValidationError } from '../errors.ts';
import type { JsonValue } from '../model/json-value.ts';
import { itemSize } from '../model/item-size.ts';
import { ATTR } from '../schema.ts';
import { completionUpdate } from './complete-job.ts';
import type { StoreContext } from './context.ts';
import { fencedUpdateInput, isOwnWrite } from './fenced-update.ts';
import type { OutcomeExtras } from './report-progress.ts';
import { isTransient } from './resend.ts';

/** The caller's items in one transaction: DynamoDB's 100 actions, less the job's completion. */
export const MAX_TRANSACT_ITEMS = 99;
/** DynamoDB's limit on the total size of a transaction's items. */
export const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024;

/** Cancellation reasons after which nothing was written and the same transaction may succeed later. */
const RETRYABLE_REASONS = new Set(['None', 'TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);

/** The four kinds of transaction action. */
const ACTIONS = ['Put', 'Update', 'Delete', 'ConditionCheck'] as const;

/** A transaction built once, to be sent (and resent) unchanged. */
export interface PreparedCompletion {
  /**
   * Sends the transaction. Resolves true once it has been applied (by this send or an earlier one
   * whose answer was lost), false if the claim was lost (nothing applied). Throws
   * {@link TransactionConflictError} when one of the caller's conditions failed, a
   * {@link ValidationError} when DynamoDB refused an item, and the SDK's error otherwise (resend
   * after those {@link isResendableTransactionError} accepts).
   */
  send(): Promise<boolean>;
}

/**
 * Builds the transaction that applies `items` (TransactWriteItems actions on the application's
 * tables, same account and region) and marks job `id` completed with `result`, the completion
 * conditional on `claim_token = token AND status = processing` exactly as {@link completeJob}'s.
 * Either all of it is applied or none; a worker whose claim was taken over can never apply it.
 *
 * Resends are safe: every send carries the same request (one `last_fenced_write` id and, until a
 * definite cancellation, one `ClientRequestToken`, which makes DynamoDB answer a resend within 10
 * minutes with the first send's success instead of applying it again). Past that window, the
 * job's failed condition with this write id on the item still recognises the earlier landing.
 *
 * Cost: a transaction writes every item twice (prepare and commit): 2 write units per KB of each
 * item, the job's own update included, against 1 for {@link completeJob} alone.
 *
 * @throws TooManyTransactItemsError over {@link MAX_TRANSACT_ITEMS} items
 * @throws ValidationError for an item that is not exactly one action with a table, that touches
 *   this job's own item, or items over {@link MAX_TRANSACTION_BYTES} in total. Nothing is sent.
 */
export function prepareCompleteJobWith(...args: CompletionArgs): PreparedCompletion {
  const [ctx, id, , , items, extras] = args;
  const transactItems = completionTransaction(...args);
  let requestToken = randomUUID();
  return {
    async send() {
      try {
        await ctx.client.send(new TransactWriteItemsCommand({ TransactItems: transactItems, ClientRequestToken: requestToken }));
        return true;
      } catch (err) {
        // After a definite cancellation nothing was applied: a new token makes the resend a new request.
        if (isCancellation(err)) requestToken = randomUUID();
        return interpretFailure(err, id, items.length, extras.writeId);
      }
    },
  };
}

/**
 * What a completion transaction is built from: the store, job `id` and its claim `token`, the
 * `result`, the caller's `items`, and the outcome extras with the write id every send carries.
 */
export type CompletionArgs = [
  ctx: StoreContext,
  id: string,
  token: string,
  result: JsonValue | undefined,
  items: readonly TransactWriteItem[],
  extras: OutcomeExtras & { readonly writeId: string },
];

/**
 * The checked items of {@link prepareCompleteJobWith}'s transaction: the caller's `items`, then the
 * job's fenced completion (asking for its item when its condition fails).
 * @throws TooManyTransactItemsError, ValidationError as {@link prepareCompleteJobWith}
 */
export function completionTransaction(...[ctx, id, token, result, items, extras]: CompletionArgs): TransactWriteItem[] {
  checkItems(ctx, id, items);
  const completion = fencedUpdateInput(ctx, id, token, completionUpdate(ctx, result, extras), extras.writeId);
  const transactItems: TransactWriteItem[] = [...items, { Update: { ...completion, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } }];
  checkSize(transactItems);
  return transactItems;
}

/**
 * True for an error after which the same transaction should be sent again: a transient fault
 * ({@link isTransient}), a transaction still in progress (an earlier send with the same token), or
 * a cancellation caused only by a concurrent transaction or throttling.
 */
export function isResendableTransactionError(err: unknown): boolean {
  // The typed errors `send` throws (a failed condition, a refused item) are answers, not faults.
  if (err instanceof JobTableError) return false;
  if (isTransient(err)) return true;
  if (err instanceof Error && err.name === 'TransactionInProgressException') return true;
  const reasons = isCancellation(err) ? reasonsOf(err) : [];
  return reasons.length > 0 && reasons.every((r) => RETRYABLE_REASONS.has(r.Code ?? 'None'));
}

function isCancellation(err: unknown): err is Error & { CancellationReasons?: CancellationReason[] } {
  return err instanceof Error && err.name === 'TransactionCanceledException';
}

function reasonsOf(err: { CancellationReasons?: CancellationReason[] }): CancellationReason[] {
  return err.CancellationReasons ?? [];
}

/** Turns a failed send into its answer (see {@link PreparedCompletion.send}); rethrows what it cannot. */
export function interpretFailure(err: unknown, id: string, jobIndex: number, writeId: string): boolean {
  if (err instanceof Error && err.name === 'ValidationException') {
    throw new ValidationError('items', 'actions DynamoDB accepts in one transaction', err.message, { cause: err });
  }
  if (err instanceof Error && err.name === 'ResourceNotFoundException') {
    // The job's table exists (the job was claimed from it): a table of the caller's items does not.
    throw new ValidationError('items', "actions on tables that exist in the jobs table's account and region", err.message, { cause: err });
  }
  if (!isCancellation(err)) throw err;
  return interpretReasons(reasonsOf(err), err, id, jobIndex, writeId);
}

/**
 * The answer of a cancelled completion transaction from its reasons (the job's at `jobIndex`, the
 * caller's before it): false for a lost claim, true if the job carries `writeId` (an earlier send
 * landed); throws {@link TransactionConflictError} for a caller's failed condition, a
 * {@link ValidationError} for a refused item, else `err`.
 */
export function interpretReasons(reasons: readonly CancellationReason[], err: unknown, id: string, jobIndex: number, writeId: string): boolean {
  const own = reasons[jobIndex];
  // The job's own condition first: a stale claim applies nothing, whatever the caller's items say.
  if (own?.Code === 'ConditionalCheckFailed') return isOwnWrite(own.Item, writeId);
  const failed = reasons.findIndex((r, i) => i < jobIndex && r.Code === 'ConditionalCheckFailed');
  if (failed >= 0) throw new TransactionConflictError(id, failed, reasons[failed]!.Message, reasons[failed]!.Item, { cause: err });
  const invalid = reasons.findIndex((r) => r.Code === 'ValidationError');
  if (invalid >= 0) {
    const field = invalid < jobIndex ? `items[${invalid}]` : 'items';
    throw new ValidationError(field, 'an action DynamoDB accepts', reasons[invalid]!.Message ?? (err instanceof Error ? err.message : 'refused'), { cause: err });
  }
  throw err;
}

/** Checks the caller's items before anything is sent. */
function checkItems(ctx: StoreContext, id: string, items: readonly TransactWriteItem[]): void {
  if (!Array.isArray(items)) throw new ValidationError('items', 'an array of TransactWriteItems actions', `got ${typeof items}`);
  if (items.length > MAX_TRANSACT_ITEMS) throw new TooManyTransactItemsError(items.length, MAX_TRANSACT_ITEMS);
  items.forEach((item, i) => {
    const action = singleAction(item);
    if (!action) throw new ValidationError(`items[${i}]`, 'exactly one of Put, Update, Delete or ConditionCheck, with a TableName');
    if (touchesJob(ctx, id, action)) throw new ValidationError(`items[${i}]`, "not the job's own item in the jobs table", "it writes the job's own item, which the completion writes");
  });
}

interface Action {
  readonly TableName?: string | undefined;
  readonly Key?: Record<string, AttributeValue> | undefined;
  readonly Item?: Record<string, AttributeValue> | undefined;
}

function singleAction(item: TransactWriteItem | null | undefined): Action | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const present = ACTIONS.filter((k) => item[k] !== undefined);
  const action = present.length === 1 ? (item[present[0]!] as Action) : undefined;
  return typeof action?.TableName === 'string' && action.TableName.length > 0 ? action : undefined;
}

function touchesJob(ctx: StoreContext, id: string, action: Action): boolean {
  const table = action.TableName!;
  const sameTable = table === ctx.tableName || table.endsWith(`:table/${ctx.tableName}`);
  return sameTable && (action.Key ?? action.Item)?.[ATTR.id]?.S === id;
}

/** Rejects a transaction over 4 MB, counting item values, expression values and expressions. */
function checkSize(items: readonly TransactWriteItem[]): void {
  let bytes = 0;
  for (const item of items) {
    const action: (Action & { ExpressionAttributeValues?: Record<string, AttributeValue>; ConditionExpression?: string; ExpressionAttributeNames?: Record<string, string> }) | undefined =
      item.Put ?? item.Update ?? item.Delete ?? item.ConditionCheck;
    bytes += itemSize(action?.Item ?? action?.Key ?? {});
    bytes += itemSize(action?.ExpressionAttributeValues ?? {});
    bytes += Buffer.byteLength(JSON.stringify([item.Update?.UpdateExpression, action?.ConditionExpression, action?.ExpressionAttributeNames]));
  }
  if (bytes > MAX_TRANSACTION_BYTES) {
    throw new ValidationError('items', `at most ${MAX_TRANSACTION_BYTES} bytes in total (DynamoDB's transaction limit)`, `the transaction would be about ${bytes} bytes`);
  }
}
