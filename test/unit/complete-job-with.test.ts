/**
 * Which failures of a `completeWith` transaction are resent: faults and cancellations that applied
 * nothing and may succeed later, never the typed answers (a failed condition, a refused item).
 */
import { describe, expect, it } from 'vitest';
import { TransactionConflictError, ValidationError } from '../../lib/errors.ts';
import { isResendableTransactionError } from '../../lib/store/complete-job-with.ts';

const cancelled = (...codes: string[]) =>
  Object.assign(new Error('Transaction cancelled'), { name: 'TransactionCanceledException', $metadata: { httpStatusCode: 400 }, CancellationReasons: codes.map((Code) => ({ Code })) });

describe('isResendableTransactionError', () => {
  it('resends a cancellation caused only by a concurrent transaction or throttling', () => {
    expect(isResendableTransactionError(cancelled('None', 'TransactionConflict', 'None'))).toBe(true);
    expect(isResendableTransactionError(cancelled('ThrottlingError', 'None'))).toBe(true);
  });

  it('does not resend a cancellation with a failed condition or a refused item, or one without reasons', () => {
    expect(isResendableTransactionError(cancelled('TransactionConflict', 'ConditionalCheckFailed'))).toBe(false);
    expect(isResendableTransactionError(cancelled('ValidationError', 'None'))).toBe(false);
    expect(isResendableTransactionError(cancelled())).toBe(false);
  });

  it('never resends the typed errors the transaction answers with (they carry no HTTP status)', () => {
    expect(isResendableTransactionError(new TransactionConflictError('job-1', 0, undefined, undefined))).toBe(false);
    expect(isResendableTransactionError(new ValidationError('items', 'at most 99 items'))).toBe(false);
  });

  it('resends a transaction in progress, a 5xx and a lost connection', () => {
    expect(isResendableTransactionError(Object.assign(new Error('in progress'), { name: 'TransactionInProgressException', $metadata: { httpStatusCode: 400 } }))).toBe(true);
    expect(isResendableTransactionError(Object.assign(new Error('boom'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } }))).toBe(true);
    expect(isResendableTransactionError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', $metadata: {} }))).toBe(true);
  });
});
