/**
 * The phases of a configuration (or a bisect probe) on stderr: one live line on a terminal; in a CI log each
 * phase once, and the storm's live figures only every `stormEverySeconds`th second.
 */
export function phasePrinter(stormEverySeconds: number): { start(): void; phase(text: string): void } {
  let startedAt = Date.now();
  let last = '';
  return {
    start() {
      startedAt = Date.now();
      last = '';
    },
    phase(text) {
      const line = `    ${((Date.now() - startedAt) / 1000).toFixed(0)}s ${text}`;
      if (process.stderr.isTTY) {
        process.stderr.write(`${line}…\x1b[K\r`);
        return;
      }
      const storm = /^storm (\d+)s/.exec(text);
      const key = storm ? (Number(storm[1]) % stormEverySeconds === 0 ? text : last) : text;
      if (key !== last) process.stderr.write(`${line}\n`);
      last = key;
    },
  };
}
