import { describe, expect, it } from 'vitest';
import { Teardown } from '../../src/8-run/teardown.ts';

describe('Teardown', () => {
  it('runs the steps in reverse order of acquisition', async () => {
    const order: string[] = [];
    const teardown = new Teardown();
    teardown.defer(() => order.push('network'));
    teardown.defer(async () => order.push('container a'));
    teardown.defer(() => order.push('container b'));
    await teardown.run();
    expect(order).toEqual(['container b', 'container a', 'network']);
  });

  it('runs every step when one throws, and rethrows that error', async () => {
    const order: string[] = [];
    const failure = new Error('cannot remove container a: engine timeout after 10000ms');
    const teardown = new Teardown();
    teardown.defer(() => order.push('network'));
    teardown.defer(() => {
      order.push('container a');
      throw failure;
    });
    teardown.defer(() => order.push('container b'));
    await expect(teardown.run()).rejects.toBe(failure);
    expect(order).toEqual(['container b', 'container a', 'network']);
  });

  it('throws the first error and keeps the second as its cause', async () => {
    const first = new Error('cannot remove container b');
    const second = new Error('cannot remove network');
    const teardown = new Teardown();
    teardown.defer(async () => {
      throw second;
    });
    teardown.defer(async () => {
      throw first;
    });
    const error = await teardown.run().catch((e: unknown) => e);
    expect(error).toBe(first);
    expect((error as Error).cause).toBe(second);
  });

  it('keeps the rest in an AggregateError when more than two steps fail', async () => {
    const errors = [new Error('one'), new Error('two'), new Error('three')];
    const teardown = new Teardown();
    for (const error of [...errors].reverse()) teardown.defer(() => Promise.reject(error));
    const thrown = (await teardown.run().catch((e: unknown) => e)) as Error;
    expect(thrown).toBe(errors[0]);
    expect(thrown.cause).toBeInstanceOf(AggregateError);
    expect((thrown.cause as AggregateError).errors).toEqual([errors[1], errors[2]]);
  });

  it("keeps the first error's own cause and the later errors together in cause", async () => {
    const root = new Error('ECONNRESET');
    const first = new Error('cannot remove container', { cause: root });
    const later = new Error('cannot remove network');
    const teardown = new Teardown();
    teardown.defer(() => Promise.reject(later));
    teardown.defer(() => Promise.reject(first));
    const thrown = (await teardown.run().catch((e: unknown) => e)) as Error;
    expect(thrown).toBe(first);
    expect(thrown.cause).toBeInstanceOf(AggregateError);
    expect((thrown.cause as AggregateError).errors).toEqual([root, later]);
  });

  it('wraps a first failure that is not an Error', async () => {
    const teardown = new Teardown();
    const second = new Error('second');
    teardown.defer(() => Promise.reject(second));
    teardown.defer(() => Promise.reject('first'));
    const thrown = (await teardown.run().catch((e: unknown) => e)) as Error;
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown.message).toBe('first');
    expect(thrown.cause).toBe(second);
  });

  it('runs each step once, even when run twice', async () => {
    let runs = 0;
    const teardown = new Teardown();
    teardown.defer(() => runs++);
    await teardown.run();
    await teardown.run();
    expect(runs).toBe(1);
  });

  it('runs on `await using` when the block throws', async () => {
    const order: string[] = [];
    const body = async () => {
      await using teardown = new Teardown();
      teardown.defer(() => order.push('container'));
      throw new Error('config failed');
    };
    await expect(body()).rejects.toThrow('config failed');
    expect(order).toEqual(['container']);
  });
});
