// The scenario stage: what a scenario may declare (schema.ts), the typed surface scenario files use
// (`import { defineScenario } from 'oomlab'`, define.ts), and loading a scenario file.
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { resolve, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { OomlabError, ScenarioInvalidError } from '../0-model/errors.ts';
import { OUTCOMES, type AxisValue, type Config, type Matrix, type Outcome } from '../0-model/config.ts';
import { parseBytes } from '../0-model/units.ts';
import { ALLOWED_FIELDS, scenarioSchema, type FieldsOf } from './schema.ts';
import type { Scenario } from './define.ts';

export { OUTCOMES, parseBytes, type AxisValue, type Config, type Matrix, type Outcome };
export * from './schema.ts';
export * from './define.ts';
export * from './thresholds.ts';
export * from './steps.ts';

/** Formats the first zod issue as one line: the field, what was wrong, what is allowed. */
export function formatIssue(where: string, issue: z.core.$ZodIssue, kind: FieldsOf, prefix = ''): string {
  const segments = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  const path = `${prefix.replace(/\.$/, '')}${segments}`.replace(/^\./, '');
  if (issue.code === 'unrecognized_keys') {
    // A workload's `expect` has fields of its own.
    const allowed: readonly string[] = ALLOWED_FIELDS[(kind === 'workload' || kind === 'http-burst') && issue.path[0] === 'expect' ? 'load expectation' : kind];
    const field = issue.keys[0] ?? '';
    const suggestion = closest(field, allowed);
    const full = path ? `${path}.${field}` : field;
    return `${where}: unknown field \`${full}\`${suggestion ? ` (did you mean \`${suggestion}\`?)` : ''}; allowed: ${allowed.join(', ')}`;
  }
  if (issue.code === 'invalid_value' && 'values' in issue) {
    return `${where}: \`${path}\` must be one of ${issue.values.map(String).join(', ')}`;
  }
  // Needs parsing with `reportInput: true`: zod leaves `input` out otherwise.
  if (!('input' in issue) || issue.input === undefined) {
    return `${where}: missing field \`${path}\`${issue.code === 'invalid_type' ? ` (${issue.expected})` : `: ${issue.message}`}`;
  }
  if (issue.code === 'invalid_union') {
    return `${where}: \`${path}\` has the wrong type or value (got ${JSON.stringify(issue.input)})`;
  }
  return `${where}: \`${path || '(scenario)'}\`: ${issue.message}`;
}

/** A misspelt field shows up as unknown and as missing; the unknown one says more (it can suggest). */
export function firstIssue(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue {
  return issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
}

/** The candidate within two edits of `word`, for `did you mean` hints. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** Checks a scenario object; throws ScenarioInvalidError with one line naming the file and the field. */
export function validateScenario(value: unknown, file: string): Scenario {
  const parsed = scenarioSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) {
    throw new ScenarioInvalidError(formatIssue(file, firstIssue(parsed.error.issues), ''));
  }
  return { ...(value as Scenario), file };
}

// Resolves `oomlab` and `oomlab/...` as if imported from this checkout (its package.json exports), whatever the importer's
// folder; and loads a .ts outside any `"type": "module"` package as ESM, since tsx would take it for CommonJS, where no hook reaches.
const SELF_HOOK = `let parentURL;
export function initialize(data) { parentURL = data.parentURL; }
export async function resolve(specifier, context, next) {
  if (specifier === 'oomlab' || specifier.startsWith('oomlab/')) return next(specifier, { ...context, parentURL });
  const resolved = await next(specifier, context);
  const userTs = resolved.format === 'commonjs' && resolved.url.startsWith('file:') && resolved.url.endsWith('.ts') && !resolved.url.includes('/node_modules/');
  return userTs ? { ...resolved, format: 'module' } : resolved;
}`;
let selfResolving = false;

/** A scenario anywhere on disk can `import { defineScenario } from 'oomlab'`: Node's own lookup finds it only inside this checkout. */
function resolveOomlabFromAnywhere(): void {
  if (selfResolving) return;
  selfResolving = true;
  register(`data:text/javascript,${encodeURIComponent(SELF_HOOK)}`, { data: { parentURL: new URL('../../package.json', import.meta.url).href } });
}

/** Imports `scenarios/x.ts` (the default export) and validates it. */
export async function loadScenario(path: string): Promise<Scenario> {
  const absolute = resolve(path);
  const fromHere = relative(process.cwd(), absolute);
  const shown = fromHere && !fromHere.startsWith('..') ? fromHere : absolute;
  if (!existsSync(absolute)) {
    throw new OomlabError('SCENARIO_NOT_FOUND', `scenario file ${shown} not found — \`oomlab list\` shows the scenarios`);
  }
  resolveOomlabFromAnywhere();
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
  } catch (error) {
    const first = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new ScenarioInvalidError(`${shown}: cannot be loaded: ${first}`, { cause: error });
  }
  if (module.default === undefined) {
    throw new ScenarioInvalidError(`${shown}: no default export — end the file with \`export default defineScenario({...})\``);
  }
  return validateScenario(module.default, shown);
}
