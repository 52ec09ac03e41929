import { afterEach, describe, expect, it, vi } from 'vitest';
import { phasePrinter } from '../../src/9-cli/commands/phase-line.ts';

const tty = process.stderr.isTTY;
afterEach(() => {
  vi.restoreAllMocks();
  Object.defineProperty(process.stderr, 'isTTY', { value: tty, configurable: true });
});

describe('phasePrinter in a CI log', () => {
  it('prints each phase once, and the storm only every Nth second', () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((text) => (lines.push(String(text)), true));
    Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true });
    const phases = phasePrinter(5);
    phases.start();
    for (const phase of ['starting', 'starting', 'storm 1s 10 conn/s', 'storm 4s 40 conn/s', 'storm 5s 50 conn/s', 'storm 6s 60 conn/s', 'settling 5000ms']) phases.phase(phase);
    expect(lines.map((l) => l.replace(/^ {4}\d+s /, ''))).toEqual(['starting\n', 'storm 5s 50 conn/s\n', 'settling 5000ms\n']);
  });
});
