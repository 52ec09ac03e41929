// report.json as written since schema version 2: each configuration's samples in columns (one entry per
// series with its times and values), every other observation as before. The result model in memory stays
// report.ts's RunReport (samples among the observations); only the file is columnar.
import { OomlabError } from './errors.ts';
import type { Observation } from './observation.ts';
import type { ConfigResult, RunReport } from './report.ts';

export type SampleObservation = Extract<Observation, { kind: 'sample' }>;
export type EventObservation = Exclude<Observation, { kind: 'sample' }>;

/** One sampled series of a configuration: `t[i]` (ms into the configuration) and `value[i]` are one sample. */
export interface SampleSeries {
  instance: string;
  source: SampleObservation['source'];
  metric: string;
  t: number[];
  value: number[];
}

/** A configuration as report.json (version 2) holds it: `observations` without samples, `samples` by series. */
export type ConfigResultFile = Omit<ConfigResult, 'observations'> & { observations: EventObservation[]; samples: SampleSeries[] };

/** report.json, schema version 2. Version 1 is RunReport itself. */
export type RunReportFile = Omit<RunReport, 'configs'> & { configs: ConfigResultFile[] };

/** The configuration's samples in columns, series in the order they first appear, each series' samples in theirs. */
export function encodeSamples(observations: readonly Observation[]): { observations: EventObservation[]; samples: SampleSeries[] } {
  const events: EventObservation[] = [];
  const series = new Map<string, SampleSeries>();
  for (const o of observations) {
    if (o.kind !== 'sample') {
      events.push(o);
      continue;
    }
    const key = `${o.instance}\u0000${o.source}\u0000${o.metric}`;
    let s = series.get(key);
    if (!s) {
      s = { instance: o.instance, source: o.source, metric: o.metric, t: [], value: [] };
      series.set(key, s);
    }
    s.t.push(o.t);
    s.value.push(o.value);
  }
  return { observations: events, samples: [...series.values()] };
}

/**
 * The observations back in one list: the other observations in their written order, each series' samples
 * in theirs, a sample placed after the observations at or before its time. A sampler can record a sample
 * stamped earlier than the one before it, so series are merged by their running latest time.
 */
export function decodeSamples(events: readonly EventObservation[], samples: readonly SampleSeries[], where: string): Observation[] {
  const decoded: { at: number; sample: SampleObservation }[] = [];
  samples.forEach((s, i) => {
    if (s.t.length !== s.value.length) {
      throw new OomlabError(
        'REPORT_INVALID',
        `${where}.samples[${i}]: ${s.t.length} times and ${s.value.length} values for ${s.instance} ${s.metric} — give the report.json an oomlab run wrote, unedited`,
      );
    }
    let at = -Infinity;
    for (let j = 0; j < s.t.length; j++) {
      at = Math.max(at, s.t[j]!);
      decoded.push({ at, sample: { kind: 'sample', t: s.t[j]!, instance: s.instance, source: s.source, metric: s.metric, value: s.value[j]! } });
    }
  });
  // Array.prototype.sort is stable: a series keeps its order, and equal times keep series order.
  decoded.sort((a, b) => a.at - b.at);
  const merged: Observation[] = [];
  let e = 0;
  let eventsAt = -Infinity;
  for (const { at, sample } of decoded) {
    while (e < events.length && Math.max(eventsAt, events[e]!.t) <= at) {
      eventsAt = Math.max(eventsAt, events[e]!.t);
      merged.push(events[e++]!);
    }
    merged.push(sample);
  }
  while (e < events.length) merged.push(events[e++]!);
  return merged;
}

/** The report as version 2 writes it. */
export function encodeReport(report: RunReport): RunReportFile {
  return { ...report, configs: report.configs.map((c) => ({ ...c, ...encodeSamples(c.observations) })) };
}

/** A version-2 report in memory again; fields this version does not know are kept. `file` names it in an error. */
export function decodeReport(report: RunReportFile, file: string): RunReport {
  return {
    ...report,
    configs: report.configs.map(({ samples, ...c }, i) => ({ ...c, observations: decodeSamples(c.observations, samples, `${file} is not a valid oomlab report: configs[${i}]`) })),
  };
}
