/** Exit codes of the `jobtable` CLI, and the error that carries one. */

/** Exit codes. */
export const EXIT = {
  ok: 0,
  /** The operation was refused or ended badly: no such job, wrong state, a watched job failed. */
  failed: 1,
  /** Bad command line or bad input (a ValidationError): nothing was written. */
  usage: 2,
  /** The queue cannot be reached: no local stack running, no table, no credentials. */
  unavailable: 3,
  /** Stopped by Ctrl-C (or SIGTERM) before it finished; what was done stays done (`redrive` prints how to resume). */
  interrupted: 130,
} as const;

/** An error the CLI prints as one line and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CliError';
  }
}
