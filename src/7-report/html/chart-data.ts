// What the page's script draws: built by charts.ts, carried as one JSON block, read by page.ts.

export type Unit = 'bytes' | 'ms' | 'count' | 'rate';

/** One line of a chart over time; `points` are [seconds since the configuration started, value]. */
export interface ChartSeries {
  label: string;
  /** What the hover readout calls it: the configuration's tag, with the line's suffix or instance where there are several. */
  key: string;
  color: string;
  width: number;
  dash?: number[];
  show: boolean;
  points: [number, number][];
  /** The configuration it belongs to (its tag), for the legend's toggles; absent on a limit shared by several. */
  config?: string;
  /** The line's suffix (`p99`, `p50`) when a chart draws several per configuration, for the key's toggles. */
  line?: string;
  /** A memory limit: drawn dashed and named beside the chart, left out of the readout. */
  limit?: boolean;
  /** The summed usage of instances sharing one memory budget (`a + neighbour`): what that budget's limit bounds. */
  shared?: string;
}

export interface TimeChart {
  /** The plot's element is `plot-<id>`. */
  id: string;
  unit: Unit;
  series: ChartSeries[];
  /** OOM kills, drawn as vertical lines so latency and counters can be read against them. */
  markers: { t: number; color: string; label: string; config: string }[];
  /** The configurations' timeline steps: a line at the start, a shaded span while the fault is in force. */
  steps: StepMark[];
  /** Limits far above every line, named at the top instead of squeezing the lines to the bottom. */
  above?: string[];
}

/** One step of a configuration's chaos timeline; times in seconds like the lines. */
export interface StepMark {
  /** The step's name: its spans in several configurations shade once. */
  step: string;
  t: number;
  /** When it was undone: the span ends there. */
  end?: number;
  /** In force to the end of the chart: its fault was never seen undone. */
  open?: boolean;
  /** The step's name, with `failed` or `timed out` when it did not complete. */
  label: string;
  /** The hover text: configuration, action, instance and what the step said. */
  title: string;
  color: string;
  config: string;
  failed?: boolean;
}

export interface PeakBar {
  label: string;
  color: string;
  peakBytes: number;
  limitBytes?: number;
  predictedBytes?: number;
  text: string;
  note: string;
}

export interface ChartData {
  charts: TimeChart[];
  peaks: PeakBar[];
}
