// The lab project's global setup: when the guest is missing or stale, its build (debootstrap, no VM) starts at once
// in the background, beside the unit and no-engine projects, which leave a core idle; the lab test waits for it
// (ensureLabGuest finds a live builder). The build never meets the engine tests: the lab project runs before them.
import { describeError } from '../../src/0-model/errors.ts';
import { buildLabGuest, labGuestState } from '../../src/3-runtime/lab/index.ts';

const log = (text: string) => process.stderr.write(`[lab build] ${text}\n`);

export default async function setup(): Promise<() => Promise<void>> {
  if ((await labGuestState()).state === 'good' || process.env.OOMLAB_LAB_EARLY_BUILD === '0') return async () => {};
  const stop = new AbortController();
  const started = performance.now();
  log('starting the lab guest build in the background (debootstrap, no VM)');
  const building = buildLabGuest({ signal: stop.signal, onProgress: log }).then(
    (built) => log(`built in ${Math.round(built.built.buildMs / 1000)}s`),
    // The lab test builds it itself and fails with the reason, if there is one.
    (error) => log(`stopped after ${Math.round((performance.now() - started) / 1000)}s: ${describeError(error)}`),
  );
  return async () => {
    stop.abort();
    await building;
  };
}
