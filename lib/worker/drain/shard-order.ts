/**
 * Each worker's own order of the shards, by rendezvous (highest-random-weight) hashing of its id:
 * W workers with S shards start in different shards and meet only once their own run dry, with
 * no coordination. Any two workers also agree, for each shard, which of them ranks it higher
 * (the one that keeps the shard when they meet). Pure.
 */

/** A deterministic score in [0, 1) of `workerId` for `shard` (FNV-1a, then a 32-bit finaliser). */
export function rendezvousScore(workerId: string, shard: number): number {
  let h = 0x811c9dc5;
  const key = `${workerId}#${shard}`;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // FNV-1a mixes its last characters poorly (ids differing only in the shard number); finalise.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/**
 * The rank of every shard for `workerId`: `ranks[shard]` is 0 for the shard it prefers most,
 * `shardCount - 1` for the one it prefers least.
 * @example
 * shardRanks('worker-a', 4); // e.g. [2, 0, 3, 1]
 */
export function shardRanks(workerId: string, shardCount: number): number[] {
  const byScore = Array.from({ length: shardCount }, (_, shard) => shard).sort((a, b) => rendezvousScore(workerId, b) - rendezvousScore(workerId, a) || a - b);
  const ranks = new Array<number>(shardCount);
  byScore.forEach((shard, rank) => (ranks[shard] = rank));
  return ranks;
}
