import { readFileSync } from 'node:fs';
import { execaSync } from 'execa';
import { describe, expect, it } from 'vitest';
import { parseNofileHardLimit } from '../../src/observe/host-facts.ts';

const SAMPLE = [
  'Limit                     Soft Limit           Hard Limit           Units     ',
  'Max cpu time              unlimited            unlimited            seconds   ',
  'Max open files            1024                 20000                files     ',
  'Max locked memory         8388608              8388608              bytes     ',
].join('\n');

describe('parseNofileHardLimit', () => {
  it('reads the hard limit column, not the soft one', () => {
    expect(parseNofileHardLimit(SAMPLE)).toBe(20000);
  });

  it('reads a line where soft and hard are equal', () => {
    expect(parseNofileHardLimit('Max open files            20000                20000                files     \n')).toBe(20000);
  });

  it('reads this test process\'s own /proc/self/limits, matching `ulimit -Hn`', () => {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const hard = execaSync('sh', ['-c', 'ulimit -Hn']).stdout.trim();
    expect(parseNofileHardLimit(limits)).toBe(hard === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(hard));
  });

  it('treats unlimited as no ceiling', () => {
    expect(parseNofileHardLimit('Max open files            unlimited            unlimited            files     ')).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('treats a text without the line as no ceiling', () => {
    expect(parseNofileHardLimit('Max cpu time              unlimited            unlimited            seconds')).toBe(Number.MAX_SAFE_INTEGER);
  });
});
