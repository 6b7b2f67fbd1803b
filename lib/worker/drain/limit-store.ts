/** The drain's flow-control gate wired to DynamoDB (the store operations of the limit items). */
import { hasLimits } from '../../model/limits.ts';
import type { LimitsByQueue } from '../../model/limits.ts';
import { acquireSlot } from '../../store/acquire-slot.ts';
import type { StoreContext } from '../../store/context.ts';
import { extendSlot, releaseSlot } from '../../store/release-slot.ts';
import { giveBackRateToken, pushRateBack, takeRateToken } from '../../store/take-rate-token.ts';
import { LimitGate } from './limits.ts';

/** The gate of `queue`'s limits, or undefined if it has none (its jobs then cost what they always did). */
export function limitGateFor(ctx: StoreContext, queue: string, limits: LimitsByQueue | undefined, leaseGraceMs: number): LimitGate | undefined {
  const own = limits?.[queue];
  if (!hasLimits(own)) return undefined;
  return new LimitGate(
    queue,
    own,
    {
      acquire: (id, limit, token, lease) => acquireSlot(ctx, id, limit, token, lease),
      release: (id, token) => releaseSlot(ctx, id, token),
      extend: (id, token, lease) => extendSlot(ctx, id, token, lease),
      takeRate: (id, rate, seen, owner, count, lead) => takeRateToken(ctx, id, rate, seen, owner, count, lead),
      giveBackRate: (id, owner, tat, startAt) => giveBackRateToken(ctx, id, owner, tat, startAt),
      pushRateBack: (id, seen, delta, from, before) => pushRateBack(ctx, id, seen, delta, from, before),
    },
    ctx.clock,
    leaseGraceMs,
  );
}
