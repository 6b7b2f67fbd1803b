/** Reads a FIFO group's state: its counters and its head. */
import { fifoJobId } from '../model/fifo.ts';
import type { StoreContext } from './context.ts';
import { readGroup } from './fifo-enqueue.ts';

/** A FIFO group as its item shows it. */
export interface FifoGroupState {
  readonly queue: string;
  readonly group: string;
  /** Positions handed out so far (the last job's position). */
  readonly last: number;
  /** The position allowed to run, or null when every job of the group has finished (idle). */
  readonly head: number | null;
  /** The id of the head job (pending or running), or null when idle. */
  readonly headJobId: string | null;
  /** Jobs behind the head (some may have been cancelled: their turns are skipped). */
  readonly behind: number;
}

/** A group's state: one consistent read of its item (1 read unit). */
export async function fifoGroupState(ctx: StoreContext, queue: string, group: string): Promise<FifoGroupState> {
  const g = await readGroup(ctx, queue, group);
  const idle = g.head > g.enq;
  return { queue, group, last: g.enq, head: idle ? null : g.head, headJobId: idle ? null : fifoJobId(queue, group, g.head), behind: idle ? 0 : g.enq - g.head };
}
