/**
 * The `jobtable` command, loaded by `./bin.ts` (the package's executable). Ctrl-C or SIGTERM aborts the command's signal so that it stops
 * cleanly; a second one exits at once.
 */
import { runCli } from './run.ts';

const controller = new AbortController();
let signals = 0;
const onSignal = (sig: NodeJS.Signals) => {
  signals++;
  if (signals > 1) {
    process.stderr.write(`jobtable: ${sig} again, exiting now\n`);
    process.exit(130);
  }
  controller.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, controller.signal);
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
