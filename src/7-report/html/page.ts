// The browser side of report.html: uPlot for the time charts, a plain canvas for the peak bars, the
// legend's toggles and the hover readouts. Bundled into the page by assets.ts; no network, no modules.
import type UPlot from 'uplot';
import { formatBytes } from '../../0-model/units.ts';
import type { ChartData, ChartSeries, PeakBar, StepMark, TimeChart, Unit } from './chart-data.ts';

// uPlot arrives as its own <script> before this one.
declare const uPlot: typeof UPlot;

const data = JSON.parse(document.getElementById('oomlab-chart-data')!.textContent!) as ChartData;

function formatNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(a >= 1e4 ? 0 : 1)}k`;
  return String(Math.round(v * 10) / 10);
}

function formatMs(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)} s` : `${Math.round(v * 10) / 10} ms`;
}

const FORMAT: Record<Unit, (v: number) => string> = {
  bytes: formatBytes,
  ms: formatMs,
  count: formatNumber,
  rate: (v) => `${formatNumber(v)}/s`,
};

// Powers of two in each unit: ticks fall on 256 MiB, 512 MiB, 1 GiB rather than on 0.93 GiB.
const BYTE_INCRS: number[] = [];
for (let k = 0; k < 5; k++) for (let p = 0; p < 10; p++) BYTE_INCRS.push(2 ** p * 1024 ** k);

/** uPlot wants one x array for every series: join the sample times, null where a series has none. */
function align(series: readonly ChartSeries[]): UPlot.AlignedData {
  const xs = [...new Set(series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  return [
    xs,
    ...series.map((s) => {
      const ys: (number | null)[] = xs.map(() => null);
      for (const [t, value] of s.points) ys[index.get(t)!] = value;
      return ys;
    }),
  ];
}

/** What the legend and the line keys have hidden: a configuration everywhere, a kind of line in one chart. */
const hiddenConfigs = new Set<string>();
const hiddenLines = new Set<string>();

function shown(chart: TimeChart, s: ChartSeries): boolean {
  if (s.config !== undefined && hiddenConfigs.has(s.config)) return false;
  if (s.line !== undefined) return !hiddenLines.has(`${chart.id}\u0000${s.line}`);
  return true;
}

for (const chart of data.charts) for (const s of chart.series) if (!s.show && s.line !== undefined) hiddenLines.add(`${chart.id}\u0000${s.line}`);

/** Labels go on the first text row (from the top) where they do not overlap an earlier one; CSS pixels. */
function rowPlacer() {
  const rowEnds: number[] = [];
  return (start: number, width: number): number => {
    let row = 0;
    while (row < rowEnds.length && rowEnds[row]! > start - 3) row++;
    rowEnds[row] = start + width;
    return row;
  };
}

const LABEL_ROW = 16;
const STEP_SHADE = 'rgba(71, 85, 105, 0.07)';
const STEP_INK = '#475569';

/** Overlapping [from, to] intervals merged, in time order. */
function union(spans: readonly (readonly [number, number])[]): [number, number][] {
  const merged: [number, number][] = [];
  for (const [from, to] of [...spans].sort((a, b) => a[0] - b[0])) {
    const last = merged.at(-1);
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

/** Steps first (a shaded span while a fault is in force, a solid line at the start, a flag naming it), then OOM kills as dashed verticals. */
function drawMarkers(chart: TimeChart) {
  return (u: UPlot) => {
    const ratio = uPlot.pxRatio;
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const place = rowPlacer();
    const xOf = (t: number) => Math.round(u.valToPos(t, 'x', true));
    const inside = (x: number) => x >= left && x <= left + width;
    ctx.save();
    ctx.font = `${11 * ratio}px system-ui, sans-serif`;
    ctx.textAlign = 'left';
    const steps = chart.steps.filter((s) => !hiddenConfigs.has(s.config)).sort((a, b) => a.t - b.t);
    const xMax = u.scales.x?.max ?? 0;
    // One shade per step, over the union of its configurations' spans: overlapping faults darken, configurations do not.
    ctx.fillStyle = STEP_SHADE;
    for (const name of new Set(steps.map((s) => s.step))) {
      const spans = steps.flatMap((s) => {
        const end = s.step === name ? (s.end ?? (s.open ? xMax : undefined)) : undefined;
        return end === undefined ? [] : [[s.t, end] as const];
      });
      for (const [from, to] of union(spans)) {
        const x0 = Math.max(left, xOf(from));
        const x1 = Math.min(left + width, xOf(to));
        if (x1 > x0) ctx.fillRect(x0, top, x1 - x0, height);
      }
    }
    ctx.lineWidth = ratio;
    for (const s of steps) {
      const x = xOf(s.t);
      if (!inside(x)) continue;
      ctx.strokeStyle = s.color;
      ctx.setLineDash(s.failed ? [2 * ratio, 2 * ratio] : []);
      // On a pixel's centre, so a thin line is one crisp column in the configuration's exact colour.
      const crisp = x + (ratio % 2) / 2;
      ctx.beginPath();
      ctx.moveTo(crisp, top);
      ctx.lineTo(crisp, top + height);
      ctx.stroke();
    }
    // The same step in several configurations within 2 s is named once; a failure is named in its own colour.
    const flags: HTMLElement[] = [];
    const named: StepMark[][] = [];
    for (const s of steps) {
      const group = named.find((g) => g[0]!.label === s.label && s.t - g[0]!.t < 2);
      if (group) group.push(s);
      else named.push([s]);
    }
    for (const group of named) {
      const first = group[0]!;
      const x = xOf(first.t);
      if (!inside(x)) continue;
      const cssX = (x - left) / ratio;
      const textWidth = ctx.measureText(first.label).width / ratio + 10;
      const start = cssX + textWidth > width / ratio ? cssX - textWidth : cssX;
      const flag = document.createElement('span');
      flag.className = `step-flag${first.failed ? ' failed' : ''}${start < cssX ? ' leftward' : ''}`;
      flag.textContent = first.label;
      flag.title = group.map((s) => s.title).join('\n');
      flag.dataset.step = first.step;
      flag.dataset.t = String(first.t);
      flag.dataset.configs = group.map((s) => s.config).join(' ');
      flag.style.borderColor = group.length > 1 ? STEP_INK : first.color;
      flag.style.left = `${start}px`;
      flag.style.top = `${place(start, textWidth) * LABEL_ROW + 2}px`;
      flags.push(flag);
    }
    stepLayer(u).replaceChildren(...flags);
    ctx.setLineDash([5 * ratio, 3 * ratio]);
    ctx.lineWidth = 1.5 * ratio;
    const markers = chart.markers.filter((m) => !hiddenConfigs.has(m.config)).sort((a, b) => a.t - b.t);
    for (const m of markers) {
      const x = xOf(m.t);
      if (!inside(x)) continue;
      ctx.strokeStyle = m.color;
      ctx.fillStyle = m.color;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      const textWidth = ctx.measureText(m.label).width;
      const start = x + textWidth + 4 * ratio > left + width ? x - textWidth - 4 * ratio : x + 4 * ratio;
      const row = place((start - left) / ratio, textWidth / ratio);
      ctx.fillText(m.label, start, top + (12 + LABEL_ROW * row) * ratio);
    }
    ctx.restore();
  };
}

/** The flags are elements over the plot, so a reader can hover one for what the step did. */
function stepLayer(u: UPlot): HTMLElement {
  const found = u.over.querySelector<HTMLElement>('.step-flags');
  if (found) return found;
  const layer = document.createElement('div');
  layer.className = 'step-flags';
  u.over.append(layer);
  return layer;
}

/** Each line's value nearest the cursor's time (configurations sample at their own times), one short line of text. */
function updateReadout(chart: TimeChart, u: UPlot, readout: HTMLElement) {
  readout.replaceChildren();
  const left = u.cursor.left;
  if (left === undefined || left < 0) return;
  const t = u.posToVal(left, 'x');
  const time = document.createElement('span');
  time.className = 'time';
  time.textContent = `${t.toFixed(1)} s`;
  readout.append(time);
  for (const s of chart.series) {
    if (s.limit || !shown(chart, s) || s.points.length === 0) continue;
    const nearest = s.points.reduce((best, p) => (Math.abs(p[0] - t) < Math.abs(best[0] - t) ? p : best));
    if (Math.abs(nearest[0] - t) > 2) continue;
    const item = document.createElement('span');
    const key = document.createElement('b');
    key.style.color = s.color;
    key.textContent = s.key;
    item.append(key, ` ${FORMAT[chart.unit](nearest[1])}`);
    readout.append(item);
  }
}

const PLOT_HEIGHT = 260;
const MULTIPLE_HEIGHT = 210;

const plots: { el: HTMLElement; plot: UPlot; chart: TimeChart; height: number }[] = [];

for (const chart of data.charts) {
  const el = document.getElementById(`plot-${chart.id}`);
  if (!el || chart.series.length === 0) continue;
  const readout = document.getElementById(`readout-${chart.id}`);
  const format = FORMAT[chart.unit];
  const height = el.closest('.multiple') ? MULTIPLE_HEIGHT : PLOT_HEIGHT;
  const lastMarker = Math.max(0, ...chart.markers.map((m) => m.t), ...chart.steps.map((s) => s.end ?? s.t));
  const yAxis: UPlot.Axis = { size: 64, values: (_u, ticks) => ticks.map(format) };
  if (chart.unit === 'bytes') yAxis.incrs = BYTE_INCRS;
  const opts: UPlot.Options = {
    width: Math.max(280, el.clientWidth),
    height,
    legend: { show: false },
    scales: {
      x: { time: false, range: (_u, _min, max) => [0, Math.max(max || 0, lastMarker) || 1] },
      y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] },
    },
    axes: [{ values: (_u, ticks) => ticks.map((t) => `${t} s`) }, yAxis],
    series: [{}, ...chart.series.map((s): UPlot.Series => ({ label: s.label, stroke: s.color, width: s.width, show: shown(chart, s), spanGaps: true, ...(s.dash ? { dash: s.dash } : {}) }))],
    hooks: {
      draw: [drawMarkers(chart)],
      ...(readout ? { setCursor: [(u: UPlot) => updateReadout(chart, u, readout)] } : {}),
    },
  };
  plots.push({ el, plot: new uPlot(opts, align(chart.series), el), chart, height });
}

/** Shows or hides every line as the legend and the line keys now say. */
function applyVisibility() {
  for (const { plot, chart } of plots) {
    chart.series.forEach((s, i) => {
      const show = shown(chart, s);
      if (plot.series[i + 1]!.show !== show) plot.setSeries(i + 1, { show });
    });
    plot.redraw(false);
  }
}

for (const chip of document.querySelectorAll<HTMLButtonElement>('button.config-chip')) {
  chip.addEventListener('click', () => {
    const tag = chip.dataset.config!;
    if (hiddenConfigs.has(tag)) hiddenConfigs.delete(tag);
    else hiddenConfigs.add(tag);
    chip.setAttribute('aria-pressed', String(!hiddenConfigs.has(tag)));
    applyVisibility();
  });
}

for (const key of document.querySelectorAll<HTMLButtonElement>('button.line-key')) {
  key.addEventListener('click', () => {
    const line = `${key.dataset.chart!}\u0000${key.dataset.line!}`;
    if (hiddenLines.has(line)) hiddenLines.delete(line);
    else hiddenLines.add(line);
    key.setAttribute('aria-pressed', String(!hiddenLines.has(line)));
    applyVisibility();
  });
}

function niceStep(max: number, target: number): number {
  let step = 1;
  while (max / step > target) step *= 2;
  return step;
}

function drawPeaks() {
  const canvas = document.getElementById('peaks-canvas') as HTMLCanvasElement | null;
  const rows: readonly PeakBar[] = data.peaks;
  if (!canvas || rows.length === 0) return;
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(360, canvas.parentElement!.clientWidth);
  const ctx = canvas.getContext('2d')!;
  ctx.font = '12px system-ui, sans-serif';
  // The labels' room on the right is what the longest label needs, so the bars get the rest.
  const labelWidth = rows.reduce((m, r) => Math.max(m, ctx.measureText(r.text).width + ctx.measureText(r.note).width), 0);
  const rowHeight = 24;
  const top = 30;
  const left = 48;
  const right = Math.min(width * 0.6, labelWidth + 60);
  const bottom = 26;
  const height = top + rows.length * rowHeight + bottom;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = '12px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  // The scale follows the observed peaks and the limits near them; a limit or a prediction far beyond them
  // (9 GiB or 154 GiB beside 1.5 GiB) sits at the right edge with an arrow, its value in the label.
  const peakMax = rows.reduce((m, r) => Math.max(m, r.peakBytes), 1);
  const observedMax = rows.reduce((m, r) => Math.max(m, r.limitBytes !== undefined && r.limitBytes <= peakMax * 3 ? r.limitBytes : 0), peakMax);
  const max = rows.reduce((m, r) => Math.max(m, Math.min(r.predictedBytes ?? 0, observedMax * 1.5), Math.min(r.limitBytes ?? 0, observedMax * 1.5)), observedMax);
  const plotWidth = Math.max(80, width - left - right);
  const x = (v: number) => left + (Math.min(v, max) / max) * plotWidth;
  const diamond = (cx: number, cy: number, color: string) => {
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.moveTo(cx, cy - 6);
    ctx.lineTo(cx + 6, cy);
    ctx.lineTo(cx, cy + 6);
    ctx.lineTo(cx - 6, cy);
    ctx.closePath();
    ctx.fill();
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 1;
    ctx.stroke();
  };
  const step = niceStep(max, 6);
  const axisY = top + rows.length * rowHeight;
  ctx.strokeStyle = '#e3e6ea';
  ctx.fillStyle = '#667';
  ctx.textAlign = 'center';
  for (let v = 0; v <= max; v += step) {
    ctx.beginPath();
    ctx.moveTo(x(v), top - 4);
    ctx.lineTo(x(v), axisY);
    ctx.stroke();
    ctx.fillText(formatBytes(v), x(v), axisY + 12);
  }
  ctx.textAlign = 'left';
  ctx.fillStyle = '#778';
  ctx.fillRect(left, 8, 14, 10);
  ctx.fillStyle = '#333';
  ctx.fillText('observed peak', left + 20, 13);
  ctx.fillStyle = '#111';
  ctx.fillRect(left + 118, 6, 2, 14);
  ctx.fillStyle = '#333';
  ctx.fillText('limit', left + 126, 13);
  if (rows.some((r) => r.predictedBytes !== undefined)) {
    diamond(left + 176, 13, '#333');
    ctx.fillStyle = '#333';
    ctx.fillText('predicted', left + 186, 13);
  }
  rows.forEach((r, i) => {
    const y = top + i * rowHeight;
    const mid = y + rowHeight / 2;
    ctx.fillStyle = '#223';
    ctx.textAlign = 'right';
    ctx.fillText(r.label, left - 8, mid);
    ctx.fillStyle = r.color;
    ctx.fillRect(left, y + 5, Math.max(1, x(r.peakBytes) - left), rowHeight - 10);
    let end = x(r.peakBytes);
    if (r.limitBytes !== undefined) {
      ctx.fillStyle = '#111';
      ctx.fillRect(x(r.limitBytes) - 1, y + 1, 2, rowHeight - 2);
      const beyond = r.limitBytes > max;
      if (beyond) ctx.fillText('→', x(r.limitBytes) + 3, mid);
      end = Math.max(end, x(r.limitBytes) + (beyond ? 16 : 0));
    }
    if (r.predictedBytes !== undefined) {
      const beyond = r.predictedBytes > max;
      const px = x(r.predictedBytes);
      diamond(px, mid, '#333');
      if (beyond) {
        ctx.fillStyle = '#333';
        ctx.textAlign = 'left';
        ctx.fillText('→', px + 7, mid);
      }
      end = Math.max(end, px + (beyond ? 20 : 6));
    }
    ctx.fillStyle = '#223';
    ctx.textAlign = 'left';
    ctx.fillText(r.text, end + 8, mid);
    ctx.fillStyle = '#7a8290';
    ctx.fillText(r.note, end + 16 + ctx.measureText(r.text).width, mid);
  });
}

drawPeaks();
let resizeTimer: ReturnType<typeof setTimeout> | undefined;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    for (const p of plots) p.plot.setSize({ width: Math.max(280, p.el.clientWidth), height: p.height });
    drawPeaks();
  }, 100);
});
