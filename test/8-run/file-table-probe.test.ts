import { describe, expect, it } from 'vitest';
import { fitFileTable, slopeOf } from '../../src/8-run/file-table-probe.ts';

const MiB = 1024 ** 2;

describe('slopeOf', () => {
  it('is the line through two points, and 0 where x does not change', () => {
    expect(
      slopeOf([
        { x: 65_536, y: 500 * MiB },
        { x: 1_048_576, y: 500 * MiB + 16 * 983_040 },
      ]),
    ).toBe(16);
    expect(
      slopeOf([
        { x: 4096, y: 1 },
        { x: 4096, y: 9 },
      ]),
    ).toBe(0);
  });
});

describe('fitFileTable', () => {
  it('carries 16 bytes per descriptor to 16 GiB at containerd infinity, and a flat server to nothing', () => {
    const table = (vmData: (n: number) => number) =>
      [65_536, 1_048_576].map((nofile) => ({ nofile, emulated: true, openFilesLimit: nofile, vmDataBytes: vmData(nofile) + 400 * MiB, rssAnonBytes: vmData(nofile) }));
    const mariadb = fitFileTable(
      'oomlab/mariadb:10.11',
      table((n) => 495 * MiB + 16 * n),
      1_073_741_816,
      9_000,
    );
    expect(mariadb).toMatchObject({ bytesPerDescriptor: 16, mappedBytesPerDescriptor: 16, predicted: { nofile: 1_073_741_816, bytes: 17_179_869_056 } });
    const flat = fitFileTable(
      'oomlab/mysql:9.7',
      table(() => 700 * MiB),
      1_073_741_816,
      9_000,
    );
    expect(flat).toMatchObject({ bytesPerDescriptor: 0, predicted: { bytes: 0 } });
  });
});
