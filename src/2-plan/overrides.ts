// `--set axis=value,value2`: an axis's values from the command line instead of the scenario file, so
// a scenario reruns on another server version (`--set image=oomlab/mysql:9.7`) without an edit.
import { UnknownAxisError, UsageError } from '../0-model/errors.ts';
import type { AxisOverride } from '../0-model/report.ts';
import { parseBytes, type AxisValue, type Config, type Matrix, type Scenario } from '../1-scenario/index.ts';

export type { AxisOverride };

/**
 * What an axis accepts beyond the values its file lists: `image` any image name (the scenario passes
 * the value on as an instance's image), `number` any number, `size` any size; `listed` only the listed
 * values, because the scenario branches on them and an unknown one would silently fall through.
 */
export type AxisKind = 'image' | 'number' | 'size' | 'listed';

/** Docker's image reference grammar: [registry[:port]/]name[/name...][:tag][@sha256:digest]. */
const IMAGE_REFERENCE = /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::\w[\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const NUMBER = /^\d+(?:\.\d+)?$/;

export function parseAssignment(text: string, flag: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new UsageError(`${flag} expects axis=value, got \`${text}\``);
  return [text.slice(0, at), text.slice(at + 1)];
}

function isSize(value: AxisValue): boolean {
  try {
    parseBytes(value);
    return typeof value === 'string';
  } catch {
    return false;
  }
}

/** The images a configuration's instances run (instances by list or by name). */
function imagesOf(scenario: Scenario, config: Config): string[] {
  try {
    const instances: unknown = scenario.instances(config);
    const list = typeof instances === 'object' && instances !== null ? Object.values(instances) : [];
    return list.map((i) => (typeof i === 'object' && i !== null ? (i as { image?: unknown }).image : undefined)).filter((i): i is string => typeof i === 'string');
  } catch {
    // A scenario that throws here says so, with its own message, when the plan validates it.
    return [];
  }
}

export function axisKind(scenario: Scenario, axis: string): AxisKind {
  const listed = scenario.matrix[axis] ?? [];
  const base: Config = Object.fromEntries(Object.entries(scenario.matrix).map(([name, values]) => [name, values[0]!]));
  const passedAsImage = listed.every((value) => typeof value === 'string' && imagesOf(scenario, { ...base, [axis]: value }).includes(value));
  if (listed.length > 0 && passedAsImage) return 'image';
  if (listed.some((value) => typeof value === 'number')) return 'number';
  if (listed.length > 0 && listed.every(isSize)) return 'size';
  return 'listed';
}

function parseValue(raw: string, axis: string, kind: AxisKind, listed: readonly AxisValue[], where: string): AxisValue {
  const words = listed.filter((v) => typeof v === 'string');
  if (words.includes(raw)) return raw;
  const bad = (takes: string) => new UsageError(`--set ${axis}=${raw}: \`${axis}\` takes ${takes}, got \`${raw}\``);
  switch (kind) {
    case 'image':
      if (IMAGE_REFERENCE.test(raw)) return raw;
      throw bad('an image name such as oomlab/mysql:9.7 or mysql:5.7');
    case 'number':
      // The scenario compares numbers: `--set nofile=1073741816` must equal the file's 1073741816.
      if (NUMBER.test(raw)) return Number(raw);
      throw bad(`numbers${words.length > 0 ? ` or ${words.join(', ')}` : ''}`);
    case 'size':
      if (isSize(raw)) return raw;
      throw bad('a size such as 4g, 512m or a number of bytes');
    case 'listed':
      throw bad(`${listed.join(', ')} (the values ${where} handles)`);
  }
}

/** The `--set` assignments, checked against the scenario: one line for an unknown axis, a bad value, or an axis set twice. */
export function parseOverrides(scenario: Scenario, set: readonly string[]): AxisOverride[] {
  const axes = Object.keys(scenario.matrix);
  const where = scenario.file ?? scenario.name;
  const overrides: AxisOverride[] = [];
  for (const assignment of set) {
    const [axis, raw] = parseAssignment(assignment, '--set');
    const listed = scenario.matrix[axis];
    if (!listed) throw new UnknownAxisError(axis, axes);
    if (overrides.some((o) => o.axis === axis)) throw new UsageError(`--set ${axis} is given twice; give all its values in one: --set ${axis}=VALUE,VALUE`);
    if (raw.split(',').some((v) => v === '')) throw new UsageError(`--set ${assignment} has an empty value; write --set ${axis}=VALUE or ${axis}=VALUE,VALUE`);
    const kind = axisKind(scenario, axis);
    const values = [...new Set(raw.split(',').map((v) => parseValue(v, axis, kind, listed, where)))];
    overrides.push({ axis, values, scenarioValues: [...listed] });
  }
  return overrides;
}

/** The matrix with overridden axes replaced in place: ids keep the file's axis order (`image=…,nofile=…,fix=…`). */
export function applyOverrides(matrix: Matrix, overrides: readonly AxisOverride[]): Matrix {
  const result: Record<string, readonly AxisValue[]> = { ...matrix };
  for (const { axis, values } of overrides) result[axis] = values;
  return result;
}
