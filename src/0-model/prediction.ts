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
}
