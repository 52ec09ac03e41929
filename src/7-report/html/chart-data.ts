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
  /** Limits far above every line, named at the top instead of squeezing the lines to the bottom. */
  above?: string[];
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
