/**
 * The local stack's state file, `<dataDir>/endpoint.json`: how the `jobtable` CLI finds the
 * running stack's DynamoDB Local and table without being told.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { JobQueueOptions } from '../types.ts';

/** Where the local stack keeps its data and state file. @default "./.data" */
export const DEFAULT_DATA_DIR = '.data';

/** What a running local stack writes about itself. */
export interface StackState {
  /** The HTTP API and dashboard, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  /** The DynamoDB endpoint the stack uses. */
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  /** Write shards per queue. */
  readonly shardCount: number;
  /** The queues its workers serve (an enqueue to another is refused). */
  readonly queues?: readonly string[];
  /** The stack's limits per queue (FIFO groups), so the CLI's enqueues follow them too. */
  readonly limits?: JobQueueOptions['limits'];
  /** The job types its handlers know (an enqueue of another is refused). */
  readonly jobTypes?: readonly string[];
  /** The stack's process id. */
  readonly pid: number;
  /** ISO time it started. */
  readonly startedAt: string;
}

/** Path of the state file in `dataDir`. */
export function stateFilePath(dataDir: string = DEFAULT_DATA_DIR): string {
  return join(resolve(dataDir), 'endpoint.json');
}

/** Writes the state file. */
export function writeStackState(dataDir: string, state: StackState): void {
  mkdirSync(resolve(dataDir), { recursive: true });
  writeFileSync(stateFilePath(dataDir), `${JSON.stringify(state, null, 2)}\n`);
}

/** True if a process with this id is alive. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads the state file of a running stack; null if there is none or its process is gone. */
export function readStackState(dataDir: string = DEFAULT_DATA_DIR): StackState | null {
  let state: StackState;
  try {
    state = JSON.parse(readFileSync(stateFilePath(dataDir), 'utf8')) as StackState;
  } catch {
    return null;
  }
  if (!state || typeof state.dynamoEndpoint !== 'string' || typeof state.tableName !== 'string' || !isAlive(state.pid)) return null;
  return state;
}

/** Removes the state file if it is this process's. */
export function removeStackState(dataDir: string, pid = process.pid): void {
  const path = stateFilePath(dataDir);
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as StackState;
    if (state.pid === pid) rmSync(path, { force: true });
  } catch {
    /* already gone */
  }
}
