// A lab configuration whose forwarded engine connection dropped as it started is run once more (the newcomer's
// numa-imbalance run of 7 December: `the harness failed: socket hang up (while starting)` at 45 s, under a TCG guest
// on a host at load 21; the retry of the same configuration in the next run passed).
import { describe, expect, it } from 'vitest';
import { droppedWhileStarting } from '../../src/8-run/index.ts';

const lab = { lab: { host: 'lab:numa2-uneven' } } as unknown as Parameters<typeof droppedWhileStarting>[1];
const failed = (reason: string) => ({ verdict: 'error' as const, endedBy: 'error' as const, reason });

describe('droppedWhileStarting', () => {
  it('is true for a lab configuration whose engine connection dropped while starting', () => {
    expect(droppedWhileStarting(failed('the harness failed: socket hang up (while starting)'), lab)).toBe(true);
    expect(droppedWhileStarting(failed('the harness failed: read ECONNRESET (while starting)'), lab)).toBe(true);
  });

  it('is false on this host, in a later phase, for another error, for a cancel and for a decided verdict', () => {
    expect(droppedWhileStarting(failed('the harness failed: socket hang up (while starting)'), {})).toBe(false);
    expect(droppedWhileStarting(failed('the harness failed: socket hang up (while storm 12s)'), lab)).toBe(false);
    expect(droppedWhileStarting(failed('the harness failed: No such image: oomlab/mysql:5.7 (while starting)'), lab)).toBe(false);
    expect(droppedWhileStarting({ ...failed('socket hang up (while starting)'), endedBy: 'cancel' as const }, lab)).toBe(false);
    expect(droppedWhileStarting({ verdict: 'pass', endedBy: 'done', reason: 'survived' }, lab)).toBe(false);
  });
});
