import { describe, expect, it } from 'vitest';
import { predictedText } from '../../src/0-model/figures.ts';

const MiB = 1024 ** 2;

describe('predictedText', () => {
  it('puts the expected peak first and labels the worst case as such', () => {
    expect(predictedText({ expectedPeakBytes: 679 * MiB, predictedLoadPeakBytes: 1536 * MiB, predictedLoadConnections: 301, predictedPeakBytes: 1536 * MiB })).toBe(
      'expected 679 MiB; worst case 1.5 GiB for 301 connections',
    );
    expect(predictedText({ expectedPeakBytes: 77 * MiB, predictedPeakBytes: 3276 * MiB })).toBe('expected 77 MiB; worst case 3.2 GiB');
  });

  it('keeps the worst case alone where the image was never measured', () => {
    expect(predictedText({ predictedPeakBytes: 1536 * MiB })).toBe('predicted 1.5 GiB');
    expect(predictedText({})).toBeUndefined();
  });
});
