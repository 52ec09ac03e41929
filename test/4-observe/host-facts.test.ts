import { readFileSync } from 'node:fs';
import { execaSync } from 'execa';
import { describe, expect, it } from 'vitest';
import { hasSysResource, parseNofileHardLimit } from '../../src/4-observe/host-facts.ts';

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

  it("reads this test process's own /proc/self/limits, matching `ulimit -Hn`", () => {
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

describe('hasSysResource', () => {
  // CapEff lines as /proc/self/status prints them: this sandbox's root (bit 24 cleared) and a full root.
  it('is false for the CapEff of a root without CAP_SYS_RESOURCE', () => {
    expect(hasSysResource('Name:\tnode\nCapEff:\t000001fffeffffff\nCapBnd:\t000001fffeffffff\n')).toBe(false);
  });
  it('is true for a full root', () => {
    expect(hasSysResource('CapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n')).toBe(true);
  });
  it('is false when no CapEff line is there', () => {
    expect(hasSysResource('Name:\tnode\n')).toBe(false);
  });
});
