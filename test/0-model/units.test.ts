import { describe, expect, it } from 'vitest';
import { formatBytes, parseBytes } from '../../src/0-model/units.ts';

const KiB = 1024;
const GiB = 1024 ** 3;

// One format for every size a run prints (plan warnings, evidence, md, html, cli): the judge's "16.0 GiB"
// and the plan's "16 GiB" used to say the same size two ways.
describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [512, '512 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [16 * KiB, '16 KiB'],
    [3_330_048, '3.2 MiB'],
    [209_715_200, '200 MiB'],
    [936_378_368, '893 MiB'],
    [GiB, '1 GiB'],
    [1.5 * GiB, '1.5 GiB'],
    [16 * 1_073_741_816, '16 GiB'],
    [16 * 1024 ** 4, '16 TiB'],
    [2048 * 1024 ** 4, '2048 TiB'],
    [-512 * 1024 ** 2, '-512 MiB'],
  ])('%d bytes → %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('parseBytes', () => {
  it.each([
    ['4g', 4 * GiB],
    ['512m', 512 * 1024 ** 2],
    ['1.5GiB', 1.5 * GiB],
    ['64k', 64 * KiB],
    ['1000', 1000],
    [4096, 4096],
  ] as const)('%s → %d', (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes);
  });

  it('says how to write a size it cannot read', () => {
    expect(() => parseBytes('4 gigs')).toThrow('cannot read size `4 gigs`; write it like 4g, 512m or a number of bytes');
  });
});
