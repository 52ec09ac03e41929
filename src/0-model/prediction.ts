// The preflight memory model's answer for one server instance (src/2-plan/memory-model.ts computes it).

export interface MemoryTerm {
  name: string;
  bytes: number;
  /** How the bytes came about, short enough for a one-line warning. */
  formula: string;
  /** `start-up`: resident as soon as the server starts; `global`: reserved once, resident as it fills; `per-connection`: × connections, under load. */
  phase: 'start-up' | 'global' | 'per-connection';
  /** The breakdown behind a per-connection figure. */
  detail?: string;
}

/** What caps the connections a workload holds open on one server at once. */
export type ConnectionBound = 'max_connections' | 'maxInFlight' | 'poolSize' | 'arrivals';

/** The peak for the load the scenario drives: the worst case's terms, for the connections its workload can reach. */
export interface LoadPeak {
  peakBytes: number;
  /** Connections the workload can hold open on this server at once, each holding what it holds in the worst case. */
  connections: number;
  boundBy: ConnectionBound;
  /** How the count came about: `min(2175 requests arrive, maxInFlight 600, max_connections 2000 + 1 admin) = 600`. */
  formula: string;
  /** Whether the load peak fits the limit; undefined without a limit. */
  fits: boolean | undefined;
  /** Limit minus load peak: negative when it does not fit. */
  headroomBytes?: number;
  /**
   * What the limit must cover for the server to survive this load: `worst-case` when the load reaches
   * max_connections (the two figures are then the same), `load` when the workload caps the connections below it.
   */
  limitMustCover: 'worst-case' | 'load';
  terms: MemoryTerm[];
}

/**
 * The peak an instance of a configuration is expected to reach: the image's measured start-up footprint, the
 * open-file table, the pages of the buffer pool the data and the warm-up touch, and what each connection the
 * workload holds adds. Beside the worst case, not instead of it.
 */
export interface ExpectedPeak {
  bytes: number;
  terms: MemoryTerm[];
  /** Connections the workload is expected to hold on this server at once, each running statements. */
  busyConnections: number;
  /** How that count came about: `min(301 max_connections + 1 admin, ...) = 301`. */
  connectionsFormula: string;
  /** Where the image's figures were measured: image, server version, command and date. */
  source: string;
  /** What the model cannot know for this instance, each a reason the run may differ. */
  unknowns: string[];
  /** Whether the expected peak fits the limit; undefined without a limit. */
  fits: boolean | undefined;
  headroomBytes?: number;
}

export interface MemoryPrediction {
  predictedPeakBytes: number;
  limitBytes?: number;
  /** Whether the worst case fits the limit; undefined without a limit or for an image the model does not know. */
  fits: boolean | undefined;
  /** Limit minus worst case: negative when it does not fit. */
  headroomBytes?: number;
  terms: MemoryTerm[];
  openFilesLimit: number;
  assumptions: string[];
  /** How many connections at their worst fit in the limit beside the start-up and global terms. */
  connectionsWithinLimit?: number;
  /** The peak for the scenario's workload, when one targets this server. */
  load?: LoadPeak;
  /** The peak this instance is expected to reach, where the image's footprint was measured. */
  expected?: ExpectedPeak;
}
