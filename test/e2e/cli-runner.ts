/** Runs the real `jobtable` binary as a child process (for the CLI e2e tests). */
import { execFile } from 'node:child_process';

/** Exit code and output of one run. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI (`dist/lib/cli/bin.js`, the package's `jobtable` executable) with `args`;
 * `--data-dir dataDir` is added unless the args name a data dir or a table. `JOBTABLE_TABLE_NAME` is cleared so that the caller's shell cannot leak in.
 */
export function runCli(dataDir: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const withDir = args.includes('--data-dir') || args.includes('--table') ? args : [...args, '--data-dir', dataDir];
  return new Promise((resolve) => {
    execFile('node', ['dist/lib/cli/bin.js', ...withDir], { env: { ...process.env, NODE_NO_WARNINGS: '1', JOBTABLE_TABLE_NAME: '', ...env }, timeout: 45_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
