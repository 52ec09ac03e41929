import { describe, expect, it } from 'vitest';
import { untilAborted } from '../../src/8-run/run-config.ts';

describe('untilAborted', () => {
  it('settles with the work when the signal stays quiet', async () => {
    await expect(untilAborted(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
    await expect(untilAborted(Promise.reject(new Error('boom')), new AbortController().signal)).rejects.toThrow('boom');
  });

  it("rejects with the signal's reason while the work still hangs", async () => {
    const controller = new AbortController();
    const hanging = new Promise<never>(() => {});
    const bounded = untilAborted(hanging, controller.signal);
    controller.abort(new Error('configuration deadline'));
    await expect(bounded).rejects.toThrow('configuration deadline');
  });

  it('rejects at once when the signal has already aborted', async () => {
    await expect(untilAborted(new Promise(() => {}), AbortSignal.abort(new Error('cancelled')))).rejects.toThrow('cancelled');
  });
});
