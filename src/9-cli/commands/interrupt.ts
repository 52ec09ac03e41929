import { CancelledError } from '../../0-model/errors.ts';

/** The first SIGINT/SIGTERM aborts the signal so the work removes its containers; a second quits at once. */
export function signalOnInterrupt(what = "removing this run's containers"): AbortSignal {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(`\n${signal}: stopping, ${what} (again to quit at once)\n`);
      controller.abort(new CancelledError(`${signal} received`));
    } else {
      process.stderr.write(`${signal} again: quitting now; \`oomlab clean\` removes what is left\n`);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}
