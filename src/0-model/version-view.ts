// The report read as an upgrade decision: one row per server image, one column per combination of the
// other axes, the verdict and peak memory in each cell, and one line per image a reviewer can paste.
import type { AxisValue } from './config.ts';
import type { ConfigResult, FileTableProbe, RunReport } from './report.ts';
import { formatBytes } from './units.ts';

export interface VersionColumn {
  key: string;
  /** The axes this column fixes (every varying axis but the image), in the matrix's order. */
  axes: Record<string, AxisValue>;
}

export interface VersionRow {
  image: string;
  /** One per column; undefined where the matrix excluded that combination for this image. */
  cells: (ConfigResult | undefined)[];
  fileTable?: FileTableProbe;
  /** What a reviewer pastes into a change ticket. */
  line: string;
}

export interface VersionView {
  axis: string;
  columns: VersionColumn[];
  rows: VersionRow[];
}

const SHORT_OUTCOME: Record<NonNullable<ConfigResult['outcome']>, string> = {
  survived: 'survived',
  'oom-killed-at-startup': 'OOM at start-up',
  'oom-killed-under-load': 'OOM under load',
  'oom-killed-after-load': 'OOM after the load',
  crashed: 'crashed',
  'never-ready': 'never ready',
};

const IMAGE_AXIS = 'image';

/** A view only where the run compares two images or more. */
export function versionView(report: RunReport): VersionView | undefined {
  const configs = report.configs;
  const images = [...new Set(configs.map((c) => c.axes[IMAGE_AXIS]).filter((v): v is string => typeof v === 'string'))];
  if (images.length < 2) return undefined;
  const axes = Object.keys(configs[0]?.axes ?? {}).filter((axis) => axis !== IMAGE_AXIS && new Set(configs.map((c) => c.axes[axis])).size > 1);
  const keyOf = (config: ConfigResult) => axes.map((axis) => `${axis}=${config.axes[axis]}`).join(',');
  const columns = new Map<string, VersionColumn>();
  for (const config of configs) columns.set(keyOf(config), { key: keyOf(config), axes: Object.fromEntries(axes.map((axis) => [axis, config.axes[axis]!])) });
  const rows = images.map((image) => {
    const mine = configs.filter((c) => c.axes[IMAGE_AXIS] === image);
    const fileTable = report.images.find((i) => i.name === image)?.fileTable;
    const cells = [...columns.values()].map((column) => mine.find((c) => keyOf(c) === column.key));
    return { image, cells, ...(fileTable ? { fileTable } : {}), line: reviewLine(image, mine, axes, fileTable) };
  });
  return { axis: IMAGE_AXIS, columns: [...columns.values()], rows };
}

export function cellText(config: ConfigResult | undefined): string {
  if (!config) return '—';
  if (config.verdict === 'skipped') return 'skipped';
  if (config.outcome === null) return config.verdict;
  const peak = config.metrics.peakMemoryBytes !== undefined ? ` ${formatBytes(config.metrics.peakMemoryBytes)}` : '';
  return `${SHORT_OUTCOME[config.outcome]}${peak}`;
}

export function fileTableText(probe: FileTableProbe): string {
  return `${probe.bytesPerDescriptor} B per descriptor → ${formatBytes(probe.predicted.bytes)} at nofile ${probe.predicted.nofile}`;
}

function reviewLine(image: string, configs: ConfigResult[], axes: string[], probe: FileTableProbe | undefined): string {
  const ran = configs.filter((c) => c.verdict !== 'skipped');
  const probeText = probe ? `; file table ${fileTableText(probe)} (probe)` : '';
  if (ran.length === 0) return `${image}: not run here (${configs[0]?.reason ?? 'no configuration'})`;
  const killed = ran.filter((c) => c.outcome?.startsWith('oom-killed'));
  const unexpected = ran.filter((c) => c.verdict !== 'pass').length;
  const asExpected = unexpected === 0 ? 'every outcome as expected' : `${unexpected} not as expected`;
  if (killed.length === 0) return `${image}: survives all ${ran.length} configurations (${asExpected})${probeText}`;
  const where = killed.map((c) => axes.map((axis) => `${axis}=${c.axes[axis]}`).join(' ')).join('; ');
  return `${image}: OOM-killed in ${killed.length} of ${ran.length} configurations (${where}), survives the rest (${asExpected})${probeText}`;
}

/** Servers none of whose configurations ran take one line, not a row of `skipped` cells; when none ran, every row stays. */
export function splitRanRows(rows: readonly VersionRow[]): { rows: VersionRow[]; notRun: VersionRow[] } {
  const ran = rows.filter((row) => row.cells.some((c) => c !== undefined && c.verdict !== 'skipped'));
  if (ran.length === 0) return { rows: [...rows], notRun: [] };
  return { rows: ran, notRun: rows.filter((row) => !ran.includes(row)) };
}
