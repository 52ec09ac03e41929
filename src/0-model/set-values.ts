// Values a run took from the command line (`--set`) rather than from the scenario file: every format says so
// wherever it names a configuration by them, so a reader never takes them for the file's (production's).
import type { AxisValue } from './config.ts';
import type { ConfigResult, RunReport } from './report.ts';

export interface SetValue {
  axis: string;
  value: AxisValue;
  /** What the scenario file lists for the axis. */
  fileValues: AxisValue[];
}

/** Is `axis=value` a value `--set` gave that the file does not list? */
export function isSetValue(report: Pick<RunReport, 'overrides'>, axis: string, value: AxisValue | undefined): boolean {
  const override = report.overrides?.find((o) => o.axis === axis);
  return override !== undefined && value !== undefined && !override.scenarioValues.map(String).includes(String(value));
}

/** The values of a configuration that `--set` gave and the file does not list. */
export function setValuesOf(report: Pick<RunReport, 'overrides'>, config: Pick<ConfigResult, 'axes'>): SetValue[] {
  return Object.entries(config.axes)
    .filter(([axis, value]) => isSetValue(report, axis, value))
    .map(([axis, value]) => ({ axis, value, fileValues: report.overrides!.find((o) => o.axis === axis)!.scenarioValues }));
}

/** `memory=768m (--set; the file has 512m)`. */
export function setValuesText(values: readonly SetValue[]): string {
  return values.map((v) => `${v.axis}=${v.value} (--set; the file has ${v.fileValues.join(', ')})`).join(', ');
}

/** `` `--set memory=768m,1g` (the file lists 512m) ``, one per axis, for the top of a report. */
export function overridesText(report: Pick<RunReport, 'overrides'>): string | undefined {
  const overrides = (report.overrides ?? []).map((o) => `\`--set ${o.axis}=${o.values.join(',')}\` (the file lists ${o.scenarioValues.join(', ')})`);
  return overrides.length > 0 ? overrides.join('; ') : undefined;
}

/** The configuration whose kill the signature compared ran at values `--set` gave, not the file's: said under its verdict. */
export function labSetValuesLine(report: Pick<RunReport, 'overrides' | 'configs' | 'signature'>): string | undefined {
  const config = report.configs.find((c) => c.id === report.signature?.configId);
  const set = config ? setValuesOf(report, config) : [];
  return set.length > 0 ? `The lab's kill was at ${setValuesText(set)}: production's configuration as the scenario file has it did not run.` : undefined;
}
