import { poll } from '../0-model/poll.ts';

/** Calls `sample` every `intervalMs` until stopped; `stop` ends the wait at once and resolves once the last call is over. */
export function sampleEvery(intervalMs: number, sample: () => Promise<void>): { stop(): Promise<void> } {
  const stopping = new AbortController();
  // An attempt never "succeeds": only the stop's abort ends the loop.
  const loop = poll(
    async () => {
      await sample();
      return undefined;
    },
    { intervalMs, signal: stopping.signal },
  );
  return {
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}
