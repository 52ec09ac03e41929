// The result of `oomlab bisect`: each probe, the boundary the runs found and the memory model's beside it
// (bisect.json; the search is src/2-plan/bisect-search.ts, the runs src/8-run/bisect.ts).
import type { Outcome } from './config.ts';
import type { Verdict } from './judgement.ts';

export const BISECT_SCHEMA_VERSION = 1;

/** The model's figures for the configuration at one value of the axis. */
export interface ModelPoint {
  value: number;
  /** `oom-killed-at-startup` when the start-up terms exceed the limit, `oom-killed-under-load` when the load peak does, else `survived`. */
  outcome: Outcome;
  /** The worst case (every connection at its buffers' maximum) and the peak for the scenario's load, of the first server instance the model kills (else the first). */
  worstCaseBytes: number;
  /** What is resident as soon as the server starts (the open-file table): above the limit, a kill at start-up. */
  startUpBytes: number;
  loadPeakBytes?: number;
  limitBytes?: number;
}

export interface ModelCrossing {
  last: ModelPoint;
  first: ModelPoint;
  /** The crossing lies outside LO..HI: the model's outcome is the same over the whole range. */
  outsideRange: boolean;
}

export interface ModelBoundary {
  lo: ModelPoint;
  hi: ModelPoint;
  /** Where the predicted outcome changes, to 1 (a number) or 1 MiB (a size). */
  outcome?: ModelCrossing;
  /** Where the worst case alone crosses the limit, which only max_connections bounds. */
  worstCase?: ModelCrossing;
  /** The model could not be evaluated for this configuration. */
  unavailable?: string;
}

/** One real run of the configuration at one value of the axis. */
export interface BisectProbe {
  value: number;
  /** The value as `--set` took it: `600m`, `450`. */
  label: string;
  /** `bound`: LO or HI; `search`: a halving; `repeat`: beside the boundary again. */
  role: 'bound' | 'search' | 'repeat';
  configId: string;
  outcome: Outcome | null;
  verdict: Verdict;
  reason: string;
  peakMemoryBytes?: number;
  memoryLimitBytes?: number;
  predictedPeakBytes?: number;
  predictedLoadPeakBytes?: number;
  peakConnections?: number;
  durationMs: number;
  /** The probe's own run report, relative to the bisect folder. */
  reportDir?: string;
}

export interface BisectReport {
  kind: 'bisect';
  schemaVersion: number;
  scenario: string;
  scenarioFile: string;
  axis: string;
  axisKind: 'number' | 'size';
  range: { lo: number; hi: number; step: number };
  /** The configuration without the bisected axis, every other axis named. */
  config: string;
  repeatBoundary: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /**
   * `boundary` found and repeated; `no-boundary`: LO and HI gave one outcome; `undecided`: a probe could not decide;
   * `cancelled`: interrupted; `running`: written between probes, and left so by a bisect killed outright.
   */
  status: 'boundary' | 'no-boundary' | 'undecided' | 'cancelled' | 'running';
  /** With `no-boundary`: the one outcome. */
  sameOutcome?: string;
  boundary?: {
    last: { value: number; label: string; outcome: Outcome };
    first: { value: number; label: string; outcome: Outcome };
    /** Every outcome each side gave, the search's own probe first. */
    outcomes: { last: Outcome[]; first: Outcome[] };
    flaky: boolean;
  };
  /** Probes before the repeats, and the most the search could have needed: 2 + ceil(log2(intervals)). */
  searchProbes: number;
  maxSearchProbes: number;
  probes: BisectProbe[];
  model: ModelBoundary;
  error?: string;
}
