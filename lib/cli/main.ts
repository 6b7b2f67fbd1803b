/**
 * The `jobtable` command, loaded by `./bin.ts` (the package's executable). Ctrl-C or SIGTERM
 * aborts the command's signal so that it stops cleanly; a second one exits at once.
 *
 * One Ctrl-C in a terminal often arrives twice: the terminal sends SIGINT to the whole process
 * group, and `npm start` forwards its own copy to this process. A repeat within
 * {@link SAME_SIGNAL_WINDOW_MS} of the first is that same keypress, not a second request.
 */
import { runCli } from './run.ts';

/** Signals this close together count as one (a terminal's and npm's copy of one Ctrl-C). */
const SAME_SIGNAL_WINDOW_MS = 1_000;

const controller = new AbortController();
let firstSignalAt: number | undefined;
const onSignal = (sig: NodeJS.Signals) => {
  const now = Date.now();
  if (firstSignalAt === undefined) {
    firstSignalAt = now;
    controller.abort();
    return;
  }
  if (now - firstSignalAt < SAME_SIGNAL_WINDOW_MS) return;
  process.stderr.write(`jobtable: ${sig} again, exiting now\n`);
  process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, controller.signal);
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
