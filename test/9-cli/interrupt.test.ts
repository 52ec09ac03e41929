import { afterEach, describe, expect, it, vi } from 'vitest';
import { signalOnInterrupt } from '../../src/9-cli/commands/interrupt.ts';

// cli.test.ts interrupts a real run with SIGINT; SIGTERM reaches the same handler, shown here without a second run.
describe('signalOnInterrupt', () => {
  const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  afterEach(() => {
    for (const name of ['SIGINT', 'SIGTERM'] as const) for (const listener of process.listeners(name)) if (!before[name].includes(listener)) process.off(name, listener);
    vi.restoreAllMocks();
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('aborts on the first %s with "run cancelled: <signal> received", and says so on stderr', (signal) => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const aborted = signalOnInterrupt();
    expect(aborted.aborted).toBe(false);
    process.emit(signal, signal);
    expect(aborted.aborted).toBe(true);
    expect(aborted.reason).toMatchObject({ code: 'CANCELLED', message: `run cancelled: ${signal} received` });
    expect(stderr).toHaveBeenCalledWith(`\n${signal}: stopping, removing this run's containers (again to quit at once)\n`);
  });
});
