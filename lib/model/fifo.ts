/**
 * FIFO per group (issue 12), the pure part: which queues are FIFO, the ids of a group's item and of
 * its jobs, and the shard of a group. See docs/design.md, "FIFO per group".
 */
import { v5 as uuidv5 } from 'uuid';
import type { LimitsByQueue } from './limits.ts';

/** The queues whose groups are FIFO (`limits.<queue>.group.fifo`), from limits already validated by `validateLimits`. */
export function fifoQueuesOf(limits: LimitsByQueue | undefined): ReadonlySet<string> {
  return new Set(Object.entries(limits ?? {}).filter(([, l]) => l.group?.fifo === true).map(([queue]) => queue));
}

/** Namespace of FIFO job ids (UUID v5 of `<queue>\n<group>\n<seq>`). */
const FIFO_NAMESPACE = '2b0f6f0e-5c1d-4c6e-9a43-3f6a4f0c7d21';

/** The id of the FIFO job at position `seq` of a group: the completer of `seq - 1` finds it without a read. */
export function fifoJobId(queue: string, group: string, seq: number): string {
  return uuidv5(`${queue}\n${group}\n${seq}`, FIFO_NAMESPACE);
}

/** The id of a FIFO group's item: `fifo#<queue>#<group>` (never a job id: `#`). */
export function fifoGroupId(queue: string, group: string): string {
  return `fifo#${queue}#${group}`;
}

/**
 * The shard of every job of a group (FNV-1a of the group name): a promotion moves the next job from
 * the `fifo` lane to the `due` lane of the same shard, a key it can compute without reading the job.
 */
export function fifoShard(group: string, shardCount: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < group.length; i++) {
    h ^= group.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shardCount;
}
