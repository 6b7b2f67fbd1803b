/**
 * `ctx.completeWith` for a FIFO job: the handler's items, the job's completion and the hand-over of
 * its group to the next job, in one transaction. See docs/design.md, "FIFO per group".
 */
import { TooManyTransactItemsError } from '../errors.ts';
import { completionTransaction, interpretFailure, interpretReasons, MAX_TRANSACT_ITEMS } from './complete-job-with.ts';
import type { CompletionArgs, PreparedCompletion } from './complete-job-with.ts';
import { finishHead } from './fifo-advance.ts';
import type { GroupPosition } from './fifo-advance.ts';

/** The hand-over takes up to two more actions (the group's item, the next job) of DynamoDB's 100. */
export const MAX_FIFO_TRANSACT_ITEMS = MAX_TRANSACT_ITEMS - 2;

/**
 * Like `prepareCompleteJobWith`, for the FIFO job at `pos`: every send is one transaction of the
 * caller's items, the fenced completion and the hand-over (`finishHead`), so the effects, the
 * completion and the start of the next job's turn happen together or not at all. Answers as
 * `prepareCompleteJobWith`'s send: true once applied (or applied by an earlier send with the same
 * write id), false if the claim was lost; throws `TransactionConflictError` or `ValidationError`.
 * @throws TooManyTransactItemsError over {@link MAX_FIFO_TRANSACT_ITEMS} items (nothing sent)
 */
export function prepareFifoCompleteJobWith(pos: GroupPosition, ...args: CompletionArgs): PreparedCompletion {
  const [ctx, id, , , items, extras] = args;
  if (Array.isArray(items) && items.length > MAX_FIFO_TRANSACT_ITEMS) throw new TooManyTransactItemsError(items.length, MAX_FIFO_TRANSACT_ITEMS);
  const own = completionTransaction(...args);
  return {
    async send() {
      let out: Awaited<ReturnType<typeof finishHead>>;
      try {
        out = await finishHead(ctx, pos, own);
      } catch (err) {
        return interpretFailure(err, id, items.length, extras.writeId);
      }
      return out.applied || interpretReasons(out.reasons, new Error('transaction cancelled'), id, items.length, extras.writeId);
    },
  };
}
