/** What a job that waited reads about the jobs it waited for (`ctx.dependencies()`). */
import { isExpired, jobFromItem } from '../model/codec.ts';
import { childJobIds } from '../model/dependencies.ts';
import type { StoreContext } from '../store/context.ts';
import { getItems } from '../store/get-job.ts';
import type { Job } from '../types.ts';

/** The ids `job` waited for: a parent's children in order, or its `dependsOn` ids. */
export function dependencyIds(job: Job): string[] {
  const deps = job.dependencies;
  if (!deps) return [];
  return deps.kind === 'children' ? childJobIds(job.id, deps.total) : [...(deps.ids ?? [])];
}

/**
 * The jobs `job` waited for, as they are now, in order; `null` for one whose record is gone.
 * Strongly consistent BatchGetItem (100 ids a request): the last child's completion and the
 * parent's release were one transaction, so a consistent read sees every result. Cost: 1 read
 * unit per 4 KB of each job.
 */
export async function readDependencies(ctx: StoreContext, job: Job): Promise<Array<Job | null>> {
  const ids = dependencyIds(job);
  const items = await getItems(ctx, ids, true);
  const now = ctx.clock.now();
  return ids.map((id) => {
    const item = items.get(id);
    return item && !isExpired(item, now) ? jobFromItem(item) : null;
  });
}
