/** Starts {@link ChildConfig} workers as separate Node processes and collects their results. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildConfig, ChildResult } from './worker-child.ts';

const CHILD_SCRIPT = fileURLToPath(new URL('./worker-child.ts', import.meta.url));

/** A running worker process. */
export interface WorkerProcess {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves when the child printed `ready`. */
  readonly ready: Promise<void>;
  /** Resolves with the child's final result, or null if it died without one (e.g. SIGKILL). */
  readonly result: Promise<ChildResult | null>;
  /** Sends `go` (for `waitForGo`). */
  go(): void;
}

/**
 * Spawns `node --import tsx bench/lib/worker-child.ts <config>`.
 * @example
 * const w = spawnWorker({ endpoint, tableName, shardCount: 16, mode: 'drain', concurrency: 16 });
 * await w.ready; const r = await w.result;
 */
export function spawnWorker(config: ChildConfig): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', CHILD_SCRIPT, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  let out = '';
  let err = '';
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => ((resolveReady = res), (rejectReady = rej)));
  ready.catch(() => {});
  let result: ChildResult | null = null;
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      try {
        const msg = JSON.parse(line) as { ready?: boolean } & Partial<ChildResult>;
        if (msg.ready) resolveReady();
        else if (msg.report) result = msg as ChildResult;
      } catch {
        /* not ours */
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    if (err.length < 20_000) err += chunk.toString();
  });
  child.stdin!.on('error', () => {});
  const resultPromise = new Promise<ChildResult | null>((resolve) => {
    child.once('exit', (code, signal) => {
      rejectReady(new Error(`worker exited before ready (code ${code}, signal ${signal})\n${err}`));
      if (code !== 0 && signal !== 'SIGKILL' && !result) process.stderr.write(`worker ${child.pid} failed (code ${code}, signal ${signal}):\n${err}\n`);
      resolve(result);
    });
  });
  return {
    process: child,
    pid: child.pid!,
    ready,
    result: resultPromise,
    go: () => {
      child.stdin!.write('go\n');
    },
  };
}
