/**
 * A job's final outcome (completed, failed for good, cancelled) and its count in every job waiting
 * for it (its parent, `dependsOn` dependents), in ONE TransactWriteItems. See docs/design.md,
 * "Dependencies and fan-in".
 */
import { TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, CancellationReason, TransactWriteItem, Update } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { ATTR } from '../schema.ts';
import type { StoreContext } from './context.ts';
import { countDependencyUpdate, nextVariant } from './count-dependency.ts';
import type { CountVariant, DependencyOutcome } from './count-dependency.ts';
import { isTransient } from './resend.ts';
import type { UpdateSpec } from './fenced-update.ts';

/** What the job's own action says when its condition failed: the item as it is now. */
export type SelfVerdict =
  /** This very outcome had landed (an earlier send whose answer was lost): done. */
  | 'landed'
  /** The job is no longer ours to finish (stale claim, or it changed state): nothing written. */
  | 'lost'
  /** Still ours, but more jobs registered as waiting for it: send again with these. */
  | { readonly dependents: readonly string[] };

/** The job's own action and how to read its refusal. */
export interface SelfAction {
  /** The job's own Update, conditional on its dependents being exactly `count` (the ones given). */
  build(dependentCount: number): Update;
  /** Reads the job's item returned by its failed condition. */
  verdict(item: Record<string, AttributeValue> | undefined): SelfVerdict;
}

/** Options of {@link finishNotifying}. */
export interface FinishOptions {
  /** No new send starts after this (epoch ms on the store clock). @default 30 s from now */
  readonly deadlineMs?: number;
  /** Most sends. @default 40 */
  readonly maxSends?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The job's own update spec, also recording that its dependents were counted, and fenced on how many they are. */
export function notifyingSpec(spec: UpdateSpec, dependentCount: number): UpdateSpec {
  return {
    update: spec.update.replace(/^SET /, 'SET #dn = :dn_true, '),
    names: { ...spec.names, '#dn': ATTR.dependentsNotified, '#dependents': ATTR.dependents },
    values: { ...spec.values, ':dn_true': { BOOL: true }, ':dependent_count': { N: String(dependentCount) } },
    condition: [spec.condition, 'size(#dependents) = :dependent_count'].filter(Boolean).join(' AND '),
  };
}

/**
 * Applies the job's own outcome (`self`) and counts it as `outcome` in each of `dependents`, all in
 * one transaction: either the job finished AND every waiting job counted it, or nothing happened.
 *
 * Why it counts each dependency exactly once: the job's own action is conditional (its claim token
 * for a worker's outcome, its seen status for a cancel), so a stale duplicate (a worker whose lease
 * was taken over, a second cancel) fails it and the whole transaction writes nothing; and it sets
 * `dependents_notified`, so a redriven job finishing again counts nowhere (decided when claimed).
 * Nothing is stored per dependency on the waiting job: its item stays small (every count is a
 * 2-unit transactional write of it, whatever the number of its dependencies).
 *
 * Why no waiting job is left stuck: the count that releases it (the last, or a failure under
 * `fail`) moves it to pending in the same transaction (`promote`, see `count-dependency.ts`), so no
 * second write can be skipped by a crash. A crash before the transaction lands leaves the job
 * claimed; its lease runs out, it runs again, and its outcome carries the count then.
 *
 * Resends: after a cancellation, each refused count is rebuilt from the item it returned (the
 * releasing count becomes `promote`; a waiting job that no longer exists is left out), and a job
 * that gained dependents meanwhile is sent with them; the `ClientRequestToken` is kept across
 * resends of one request, so a send whose answer was lost is answered, not applied twice.
 * Returns true once applied, false if the job's own condition says it is no longer ours.
 */
export async function finishNotifying(ctx: StoreContext, self: SelfAction, jobId: string, dependents: readonly string[], outcome: DependencyOutcome, options: FinishOptions = {}): Promise<boolean> {
  const deadline = options.deadlineMs ?? ctx.clock.now() + 30_000;
  const maxSends = options.maxSends ?? 40;
  let targets = [...dependents];
  const variants = new Map<string, CountVariant>();
  let token = randomUUID();
  for (let send = 0; ; send++) {
    const items: TransactWriteItem[] = [{ Update: self.build(targets.length) }, ...targets.map((d) => ({ Update: countDependencyUpdate(ctx, d, jobId, outcome, variants.get(d) ?? { kind: 'count' }) }))];
    try {
      await ctx.client.send(new TransactWriteItemsCommand({ TransactItems: items, ClientRequestToken: token }));
      return true;
    } catch (err) {
      if (send + 1 >= maxSends || ctx.clock.now() >= deadline) throw err;
      if (isCancellation(err)) {
        token = randomUUID(); // nothing was applied: the next send is a new request
        const reasons = err.CancellationReasons ?? [];
        const gone = revise(targets, reasons, jobId, outcome, variants);
        const own = reasons[0];
        if (own?.Code === 'ConditionalCheckFailed') {
          const verdict = self.verdict(own.Item);
          if (verdict === 'landed') return true;
          if (verdict === 'lost') return false;
          targets = [...verdict.dependents];
        }
        targets = targets.filter((d) => !gone.has(d));
      } else if (!isTransient(err) && !(err instanceof Error && err.name === 'TransactionInProgressException')) {
        throw err;
      }
      await sleep(Math.min(1_000, 20 * 2 ** Math.min(send, 6)) * (0.5 + ctx.random() / 2));
    }
  }
}

/** Rebuilds the form of each refused count from the item it returned; returns the dependents to leave out (gone). */
function revise(targets: string[], reasons: CancellationReason[], jobId: string, outcome: DependencyOutcome, variants: Map<string, CountVariant>): Set<string> {
  const drop = new Set<string>();
  reasons.slice(1).forEach((r, i) => {
    const d = targets[i];
    if (d === undefined || r.Code !== 'ConditionalCheckFailed') return;
    const next = nextVariant(r.Item, jobId, outcome);
    if (next === 'gone' || next === 'settled') drop.add(d);
    else variants.set(d, next);
  });
  return drop;
}

function isCancellation(err: unknown): err is Error & { CancellationReasons?: CancellationReason[] } {
  return err instanceof Error && err.name === 'TransactionCanceledException';
}
