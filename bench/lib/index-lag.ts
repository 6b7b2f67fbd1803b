/**
 * Simulated index lag: a client middleware that answers the drain's index queries from a picture
 * of the index as it was `lagMs` ago, the way a DynamoDB global secondary index (updated
 * asynchronously, typically well under a second behind the table) can show a job as pending
 * after it was claimed or even completed. DynamoDB Local updates its indexes synchronously, so
 * without this a test never sees the lag AWS has.
 *
 * How: every write sent through an attached client is recorded, after it succeeded, with the time
 * and the item's index entry after the write (or its absence). A query on the index with the
 * drain's key condition (`#pk = :pk AND begins_with(#sk, :prefix)`) is then answered, without
 * reaching DynamoDB, from each item's latest entry recorded at least `lagMs` ago: a snapshot
 * `lagMs` old. Other reads go to DynamoDB unchanged.
 *
 * Attach it to every client that writes the table (producer and workers) before the first write:
 * items written through other clients are invisible to it.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ATTR, TABLE } from '../../lib/schema.ts';

type Item = Record<string, AttributeValue>;

/** One recorded state of an item's index entry (null: not in the index, or deleted). */
interface Version {
  readonly at: number;
  readonly entry: Item | null;
}

/** The attributes an index entry carries: table key, index keys and the projection. */
const ENTRY_ATTRIBUTES = [ATTR.id, ATTR.statusShard, ATTR.runOrder, ...TABLE.indexProjection];

/** The index entry of a whole item, or null if the item has no index key. */
function entryOf(item: Item | undefined): Item | null {
  if (!item?.[ATTR.statusShard]?.S || !item[ATTR.runOrder]?.S) return null;
  const entry: Item = {};
  for (const a of ENTRY_ATTRIBUTES) if (item[a]) entry[a] = item[a]!;
  return entry;
}

const QUERY_PATTERN = /^(#\w+) = (:\w+) AND begins_with\((#\w+), (:\w+)\)$/;

/** What the lagged index saw, for assertions. */
export interface IndexLagStats {
  /** Index queries answered from the lagged picture. */
  answered: number;
  /** Writes recorded. */
  recorded: number;
}

/**
 * A lagging picture of the jobs index, shared by the clients attached to it.
 * @example
 * const lag = new IndexLag(300);
 * lag.attach(producerClient); lag.attach(workerClient);
 */
export class IndexLag {
  private readonly versions = new Map<string, Version[]>();
  /** Ids ever seen under each index partition key value. */
  private readonly idsByPartition = new Map<string, Set<string>>();
  readonly stats: IndexLagStats = { answered: 0, recorded: 0 };

  constructor(
    /** How old the picture a query sees is, in ms. */
    readonly lagMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Adds the middleware to `client`; returns this. */
  attach(client: DynamoDBClient): this {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? '';
        const input = args.input as Record<string, any>;
        if (command === 'QueryCommand' && input.IndexName === TABLE.indexName) {
          const answer = this.answer(input);
          if (answer) return { output: { ...answer, $metadata: {} }, response: {} } as never;
        }
        const forceAllNew = command === 'UpdateItemCommand' && (input.ReturnValues === undefined || input.ReturnValues === 'NONE');
        if (forceAllNew) input.ReturnValues = 'ALL_NEW';
        const out = await next(args);
        const output = out.output as Record<string, any>;
        await this.record(command, input, output, client);
        if (forceAllNew) delete output.Attributes;
        return out;
      },
      { step: 'initialize', name: 'jobtableIndexLag', override: true },
    );
    return this;
  }

  private async record(command: string, input: Record<string, any>, output: Record<string, any>, client: DynamoDBClient): Promise<void> {
    if (command === 'PutItemCommand') this.set(input.Item as Item);
    else if (command === 'DeleteItemCommand') this.remove(input.Key[ATTR.id].S);
    else if (command === 'BatchWriteItemCommand') {
      for (const [table, requests] of Object.entries(input.RequestItems as Record<string, any[]>)) {
        const unprocessed = new Set((output.UnprocessedItems?.[table] ?? []).map((r: any) => JSON.stringify(r)));
        for (const r of requests) {
          if (unprocessed.has(JSON.stringify(r))) continue;
          if (r.PutRequest) this.set(r.PutRequest.Item as Item);
          else if (r.DeleteRequest) this.remove(r.DeleteRequest.Key[ATTR.id].S);
        }
      }
    } else if (command === 'UpdateItemCommand') {
      if (input.ReturnValues === 'ALL_NEW') this.set(output.Attributes as Item);
      else {
        const res = await client.send(new GetItemCommand({ TableName: input.TableName, Key: input.Key, ConsistentRead: true }));
        if (res.Item) this.set(res.Item);
        else this.remove(input.Key[ATTR.id].S);
      }
    }
  }

  private set(item: Item): void {
    this.push(item[ATTR.id]!.S!, entryOf(item));
  }

  private remove(id: string): void {
    this.push(id, null);
  }

  private push(id: string, entry: Item | null): void {
    this.stats.recorded++;
    let list = this.versions.get(id);
    if (!list) this.versions.set(id, (list = []));
    list.push({ at: this.now(), entry });
    const pk = entry?.[ATTR.statusShard]?.S;
    if (pk) {
      let ids = this.idsByPartition.get(pk);
      if (!ids) this.idsByPartition.set(pk, (ids = new Set()));
      ids.add(id);
    }
  }

  /** The entry of `id` as the index showed it at `at`. */
  private entryAt(id: string, at: number): Item | null {
    const list = this.versions.get(id) ?? [];
    for (let i = list.length - 1; i >= 0; i--) if (list[i]!.at <= at) return list[i]!.entry;
    return null;
  }

  /** Answers a query of the drain's shape from the lagged picture; undefined for other shapes. */
  private answer(input: Record<string, any>): { Items: Item[]; Count: number; ScannedCount: number; LastEvaluatedKey?: Item } | undefined {
    const m = QUERY_PATTERN.exec(String(input.KeyConditionExpression ?? ''));
    if (!m || input.FilterExpression || input.Select === 'COUNT') return undefined;
    const names = input.ExpressionAttributeNames ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    if (names[m[1]!] !== ATTR.statusShard || names[m[3]!] !== ATTR.runOrder) return undefined;
    const pk: string = values[m[2]!].S;
    const prefix: string = values[m[4]!].S;
    const at = this.now() - this.lagMs;
    const entries: Item[] = [];
    for (const id of this.idsByPartition.get(pk) ?? []) {
      const e = this.entryAt(id, at);
      if (e && e[ATTR.statusShard]!.S === pk && e[ATTR.runOrder]!.S!.startsWith(prefix)) entries.push(e);
    }
    const key = (e: Item) => `${e[ATTR.runOrder]!.S}\u0000${e[ATTR.id]!.S}`;
    entries.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    if (input.ScanIndexForward === false) entries.reverse();
    const start = input.ExclusiveStartKey as Item | undefined;
    let from = 0;
    if (start) {
      const s = key(start);
      from = entries.findIndex((e) => (input.ScanIndexForward === false ? key(e) < s : key(e) > s));
      if (from < 0) from = entries.length;
    }
    const limit = input.Limit ?? Infinity;
    const items = entries.slice(from, from + limit);
    const more = from + items.length < entries.length;
    const last = items[items.length - 1];
    this.stats.answered++;
    return {
      Items: items,
      Count: items.length,
      ScannedCount: items.length,
      ...(more && last ? { LastEvaluatedKey: { [ATTR.id]: last[ATTR.id]!, [ATTR.statusShard]: last[ATTR.statusShard]!, [ATTR.runOrder]: last[ATTR.runOrder]! } } : {}),
    };
  }
}
