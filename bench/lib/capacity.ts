/**
 * Cost accounting for benchmarks and reliability tests: a client middleware that asks DynamoDB
 * for `ReturnConsumedCapacity: 'INDEXES'` on every data-plane command and sums what it reports,
 * table and index separately, per command.
 *
 * DynamoDB Local leaves out two things AWS bills, so they are counted from the calls:
 * a failed conditional write reports nothing (AWS charges at least 1 write unit), and a query
 * that returns nothing reports 0 (AWS charges at least 0.5 read units, eventually consistent).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Commands that accept `ReturnConsumedCapacity`. */
const CAPACITY_COMMANDS = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'GetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchWriteItemCommand',
  'BatchGetItemCommand',
  'TransactWriteItemsCommand',
  'TransactGetItemsCommand',
]);

const READ_COMMANDS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand', 'TransactGetItemsCommand']);

/** Totals of one command (e.g. `UpdateItemCommand`). */
export interface CommandCost {
  /** Calls that returned (successes and failed conditions), excluding other errors. */
  calls: number;
  /** Capacity units DynamoDB reported on the base table. */
  tableUnits: number;
  /** Capacity units DynamoDB reported on the indexes (summed over all of them). */
  indexUnits: number;
  /** ConditionalCheckFailedException responses (AWS bills >= 1 write unit each; Local reports 0). */
  failedConditions: number;
  /** Queries that reported 0 units (AWS bills >= 0.5 read units each). */
  emptyQueries: number;
  /** Other errors. */
  errors: number;
}

/** Summed cost of a run, split into reads and writes. */
export interface CostTotals {
  /** Write units DynamoDB Local reported, table and index. */
  readonly writeUnits: { readonly table: number; readonly index: number };
  /** Read units DynamoDB Local reported, table and index. */
  readonly readUnits: { readonly table: number; readonly index: number };
  /** Failed conditional writes (each at least 1 write unit on AWS). */
  readonly failedConditions: number;
  /** Queries that read nothing (each at least 0.5 read units on AWS). */
  readonly emptyQueries: number;
  /** All calls made, by command. */
  readonly calls: Readonly<Record<string, number>>;
  /** Total data-plane calls. */
  readonly totalCalls: number;
  /** Write units as AWS would bill them: reported units plus 1 per failed condition. */
  readonly billedWriteUnits: number;
  /** Read units as AWS would bill them: reported units plus 0.5 per empty query. */
  readonly billedReadUnits: number;
}

/** Sums consumed capacity over the commands sent by the clients it is attached to. */
export class CapacityMeter {
  /** Per-command totals. */
  readonly byCommand = new Map<string, CommandCost>();

  /**
   * Adds the middleware to `client`. Safe to attach one meter to several clients.
   * @example
   * const meter = new CapacityMeter().attach(client);
   * await queue.enqueue('noop', {});
   * meter.totals().billedWriteUnits; // 2
   */
  attach(client: DynamoDBClient): this {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? 'unknown';
        const input = args.input as Record<string, unknown>;
        if (CAPACITY_COMMANDS.has(command)) input.ReturnConsumedCapacity = 'INDEXES';
        const cost = this.entry(command);
        try {
          const out = await next(args);
          cost.calls++;
          const consumed = (out.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
          const list = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) as Array<{
            CapacityUnits?: number;
            Table?: { CapacityUnits?: number };
            GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
          }>;
          let units = 0;
          for (const c of list) {
            const table = c.Table?.CapacityUnits ?? 0;
            const index = Object.values(c.GlobalSecondaryIndexes ?? {}).reduce((s, g) => s + (g.CapacityUnits ?? 0), 0);
            cost.tableUnits += table;
            cost.indexUnits += index;
            units += c.CapacityUnits ?? table + index;
          }
          if (command === 'QueryCommand' && units === 0) cost.emptyQueries++;
          return out;
        } catch (err) {
          if (err instanceof Error && err.name === 'ConditionalCheckFailedException') {
            cost.calls++;
            cost.failedConditions++;
          } else cost.errors++;
          throw err;
        }
      },
      { step: 'initialize', name: 'jobtableCapacityMeter', override: true },
    );
    return this;
  }

  private entry(command: string): CommandCost {
    let e = this.byCommand.get(command);
    if (!e) {
      e = { calls: 0, tableUnits: 0, indexUnits: 0, failedConditions: 0, emptyQueries: 0, errors: 0 };
      this.byCommand.set(command, e);
    }
    return e;
  }

  /** Forgets everything counted so far. */
  reset(): void {
    this.byCommand.clear();
  }

  /** The totals so far. */
  totals(): CostTotals {
    return sumCosts([...this.byCommand.entries()]);
  }

  /** A plain copy of the per-command totals (to send from a child process). */
  snapshot(): Record<string, CommandCost> {
    return Object.fromEntries([...this.byCommand.entries()].map(([k, v]) => [k, { ...v }]));
  }
}

/** Sums per-command totals (from one meter or from several processes' snapshots). */
export function sumCosts(entries: ReadonlyArray<readonly [string, CommandCost]>): CostTotals {
  const w = { table: 0, index: 0 };
  const r = { table: 0, index: 0 };
  let failedConditions = 0;
  let emptyQueries = 0;
  let totalCalls = 0;
  const calls: Record<string, number> = {};
  for (const [command, c] of entries) {
    const target = READ_COMMANDS.has(command) ? r : w;
    target.table += c.tableUnits;
    target.index += c.indexUnits;
    failedConditions += c.failedConditions;
    emptyQueries += c.emptyQueries;
    calls[command] = (calls[command] ?? 0) + c.calls + c.errors;
    totalCalls += c.calls + c.errors;
  }
  return {
    writeUnits: w,
    readUnits: r,
    failedConditions,
    emptyQueries,
    calls,
    totalCalls,
    billedWriteUnits: w.table + w.index + failedConditions,
    billedReadUnits: r.table + r.index + emptyQueries * 0.5,
  };
}

/** Merges snapshots from several processes into one list of entries for {@link sumCosts}. */
export function mergeSnapshots(snapshots: ReadonlyArray<Record<string, CommandCost>>): Array<[string, CommandCost]> {
  return snapshots.flatMap((s) => Object.entries(s));
}

/** On-demand prices used for the dollar figures (us-east-1, see /work/shared/research/notes.md). */
export const PRICES = {
  /** Dollars per million write request units. */
  writePerMillion: 0.625,
  /** Dollars per million read request units. */
  readPerMillion: 0.125,
  /** SQS standard queue, dollars per million requests (a job is send + receive + delete). */
  sqsPerMillionRequests: 0.4,
} as const;

/** Dollars per million jobs, given units per job. */
export function dollarsPerMillionJobs(writeUnitsPerJob: number, readUnitsPerJob: number): number {
  return writeUnitsPerJob * PRICES.writePerMillion + readUnitsPerJob * PRICES.readPerMillion;
}
