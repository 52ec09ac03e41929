import type { Outcome } from './config.ts';

export type Verdict = 'pass' | 'fail' | 'skipped' | 'error';
export interface Evidence {
  source: string;
  text: string;
}
export interface InstanceJudgement {
  instance: string;
  outcome: Outcome;
  verdict: 'pass' | 'fail';
  reason: string;
  evidence: Evidence[];
  openFilesLimit?: number;
  peakMemoryBytes?: number;
  memoryLimitBytes?: number;
}
