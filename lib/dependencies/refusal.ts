/** A released job whose dependency failed under policy `fail`: it fails without running. */
import { DependencyFailedError } from '../errors.ts';
import type { StoreContext } from '../store/context.ts';
import type { Job } from '../types.ts';
import { cancelChildren } from './cancel.ts';

/**
 * The error to fail `job` with instead of running it, or null if it runs: a dependency failed under
 * policy `fail`, and the job has no error yet. A released job has never run, so its error is null;
 * once it failed this way it has one, and a `retryJob` of it (say after redriving the dependency)
 * runs it with its dependencies as they are instead of failing it again.
 */
export function dependencyRefusal(job: Job): DependencyFailedError | null {
  const deps = job.dependencies;
  if (!deps || deps.onFailure !== 'fail' || deps.failed === 0 || job.error !== null) return null;
  return new DependencyFailedError(job.id, deps.firstFailedId, deps.kind);
}

/**
 * After a parent failed because a child failed: cancels its children still pending or waiting
 * (best effort: an error is reported, not thrown; calling `cancelJob` on the parent finishes it).
 */
export async function cancelChildrenOfFailed(ctx: StoreContext, job: Job): Promise<Error | null> {
  if (job.dependencies?.kind !== 'children') return null;
  try {
    await cancelChildren(ctx, job.id, job.dependencies.total);
    return null;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
