/**
 * One TransactWriteItems, sent until it has a definite answer: the shared sender of the debounce
 * and FIFO operations (each of which builds its own items and conditions).
 */
import { TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import type { CancellationReason, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import type { StoreContext } from './context.ts';
import { isResendableTransactionError } from './complete-job-with.ts';
import { resendUntil } from './resend.ts';

/** How long a transaction whose outcome is unknown (or that only met conflicts) is resent. */
const TRANSACTION_RESEND_WINDOW_MS = 5_000;

/** Options of {@link transactWrite}. */
export interface TransactOptions {
  /**
   * Return a cancellation by a concurrent transaction (reason `TransactionConflict`) instead of
   * resending: for a caller whose conditions rest on a read that the winner has just made stale,
   * which reads again rather than resend a transaction bound to fail. @default false
   */
  readonly returnConflicts?: boolean;
}

/** What a {@link transactWrite} ended with: applied, or refused by a failed condition (nothing applied). */
export type TransactOutcome = { readonly applied: true } | { readonly applied: false; readonly reasons: readonly CancellationReason[] };

/** True if the error is a TransactionCanceledException. */
export function isCancellation(err: unknown): err is Error & { CancellationReasons?: CancellationReason[] } {
  return err instanceof Error && err.name === 'TransactionCanceledException';
}

/**
 * Sends `items` as one transaction. While the outcome is unknown (a 5xx, no answer) the same
 * request is resent with the same `ClientRequestToken`, so DynamoDB answers a resend of a
 * transaction that had landed with its success instead of applying it twice; a cancellation
 * caused only by a concurrent transaction or throttling is resent under a new token (nothing was
 * applied). A cancellation by a failed condition is returned with its reasons (ask for the items
 * with `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`). Any other error is thrown.
 */
export async function transactWrite(ctx: StoreContext, items: readonly TransactWriteItem[], options: TransactOptions = {}): Promise<TransactOutcome> {
  let token = randomUUID();
  const send = async (): Promise<TransactOutcome> => {
    try {
      await ctx.client.send(new TransactWriteItemsCommand({ TransactItems: [...items], ClientRequestToken: token }));
      return { applied: true };
    } catch (err) {
      if (!isCancellation(err)) throw err;
      token = randomUUID(); // nothing was applied: a resend is a new request
      const reasons = err.CancellationReasons ?? [];
      if (reasons.some((r) => r.Code === 'ConditionalCheckFailed')) return { applied: false, reasons };
      if (options.returnConflicts && reasons.some((r) => r.Code === 'TransactionConflict')) return { applied: false, reasons };
      throw err;
    }
  };
  return resendUntil(ctx, ctx.clock.now() + TRANSACTION_RESEND_WINDOW_MS, send, { resendIf: isResendableTransactionError });
}
