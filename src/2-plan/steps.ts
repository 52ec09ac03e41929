// The chaos timeline of one configuration, checked before anything runs: each step's trigger and action
// fields split and checked by their schemas, its instance, its `after` and its `when` resolved against the
// configuration, its name unique. Every mistake is one line naming the step and what is allowed.
import { ScenarioInvalidError } from '../0-model/errors.ts';
import {
  closest,
  CONDITION_METRICS,
  CONDITION_OPERATORS,
  type Expectation,
  type InstanceSpec,
  type LoadExpectation,
  parseCondition,
  STEP_ACTIONS,
  type Step,
  type StepAction,
  stepActionSchemas,
  stepTriggerSchema,
  TRIGGER_FIELDS,
  WORKLOAD_EVENTS,
} from '../1-scenario/index.ts';
import type { z } from 'zod';

const quote = (value: unknown) => JSON.stringify(value);

export interface StepScope {
  instances: readonly InstanceSpec[];
  /** Whether the configuration has a workload (`after: 'workload.start'` needs one). */
  workload: boolean;
  /** Sides `host(config).sides` budgets, for a neighbour's `side`. */
  sides: readonly string[];
}

/** The steps of one configuration, validated: durations in ms, sizes in bytes, every reference resolved. */
export function validateSteps(value: unknown, scope: StepScope, where: string): Step[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new ScenarioInvalidError(`${where}: steps(config) must return an array of steps, e.g. [{ name: 'limit-a', at: '20s', action: 'limit', instance: 'a', memory: '768m' }]; got ${quote(value)}`);
  }
  const steps = value.map((item, index) => validateStep(item, index, scope, where));
  const seen = new Map<string, number>();
  steps.forEach((step, index) => {
    const first = seen.get(step.name);
    if (first !== undefined) throw new ScenarioInvalidError(`${where}: step "${step.name}" is declared twice (steps [${first}] and [${index}]); step names must be unique`);
    seen.set(step.name, index);
  });
  const names = steps.map((s) => s.name);
  const events = [...scope.instances.map((i) => `${i.name}.ready`), ...(scope.workload ? WORKLOAD_EVENTS : [])];
  for (const step of steps) {
    if (step.after === undefined || events.includes(step.after) || names.includes(step.after)) continue;
    const why = (WORKLOAD_EVENTS as readonly string[]).includes(step.after) ? ' (this configuration has no workload)' : step.after === step.name ? ' (a step cannot wait for itself)' : '';
    const steps = names.filter((n) => n !== step.name);
    throw new ScenarioInvalidError(`${where}: step "${step.name}": after ${quote(step.after)} names nothing${why}; allowed: ${[...events, ...steps].join(', ')}`);
  }
  const cycle = findCycle(steps);
  if (cycle) throw new ScenarioInvalidError(`${where}: steps ${cycle.map((n) => `"${n}"`).join(' → ')} wait for each other, so none of them would run; start one of them with \`at\` or another event`);
  return steps;
}

function validateStep(item: unknown, index: number, scope: StepScope, where: string): Step {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new ScenarioInvalidError(`${where}: step [${index}] must be an object such as { name: 'pause-a', at: '20s', action: 'pause', instance: 'a' }; got ${quote(item)}`);
  }
  const fields = item as Record<string, unknown>;
  const named = typeof fields.name === 'string' && fields.name.length > 0;
  const at = `${where}: step ${named ? `"${fields.name}"` : `[${index}]`}`;
  const action = fields.action;
  if (typeof action !== 'string' || !(STEP_ACTIONS as readonly string[]).includes(action)) {
    const suggestion = typeof action === 'string' ? closest(action, STEP_ACTIONS) : undefined;
    const got = action === undefined ? 'no action' : `unknown action ${quote(action)}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`;
    throw new ScenarioInvalidError(`${at}: ${got}; allowed: ${STEP_ACTIONS.join(', ')}`);
  }
  const schema = stepActionSchemas[action as keyof typeof stepActionSchemas];
  const actionFields = Object.keys(schema instanceof Object && 'shape' in schema ? (schema as { shape: object }).shape : {});
  const allowed = [...TRIGGER_FIELDS, ...actionFields];
  const unknown = Object.keys(fields).find((key) => !allowed.includes(key));
  if (unknown !== undefined) {
    const suggestion = closest(unknown, allowed);
    throw new ScenarioInvalidError(`${at}: unknown field \`${unknown}\`${suggestion ? ` (did you mean \`${suggestion}\`?)` : ''}; allowed for ${action}: ${allowed.join(', ')}`);
  }
  const trigger = stepTriggerSchema.safeParse(pick(fields, TRIGGER_FIELDS), { reportInput: true });
  if (!trigger.success) throw new ScenarioInvalidError(`${at}: ${describeIssue(trigger.error.issues[0]!)}`);
  const parsedAction = (schema as z.ZodType<StepAction>).safeParse(pick(fields, actionFields), { reportInput: true });
  if (!parsedAction.success) throw new ScenarioInvalidError(`${at}: ${describeIssue(parsedAction.error.issues[0]!)}`);
  const step: Step = { ...trigger.data, action: parsedAction.data };
  if (step.at === undefined && step.after === undefined && step.when === undefined) {
    throw new ScenarioInvalidError(`${at}: no trigger; give at ('20s' from the moment every instance is ready), after (an event or a step) or when (a sampled condition)`);
  }
  const names = scope.instances.map((i) => i.name);
  const instance = 'instance' in step.action ? step.action.instance : undefined;
  if (instance !== undefined && !names.includes(instance)) {
    throw new ScenarioInvalidError(`${at}: instance \`${instance}\` is not an instance; instances are: ${names.join(', ')}`);
  }
  if (step.action.action === 'neighbour' && step.action.side !== undefined && !scope.sides.includes(step.action.side)) {
    throw new ScenarioInvalidError(`${at}: side \`${step.action.side}\` is not budgeted by host(config).sides; sides are: ${scope.sides.join(', ') || '(none)'}`);
  }
  if (step.when !== undefined) {
    const condition = parseCondition(step.when);
    if (!condition || !names.includes(condition.instance)) {
      const why = condition ? `\`${condition.instance}\` is not an instance` : 'it does not parse';
      throw new ScenarioInvalidError(
        `${at}: when ${quote(step.when)}: ${why}; write <instance>.<${CONDITION_METRICS.join('|')}> <${CONDITION_OPERATORS.join('|')}> <value>, e.g. ${names[0]}.connections > 500 or ${names[0]}.memory >= 800m; instances: ${names.join(', ')}`,
      );
    }
  }
  return step;
}

function pick(fields: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([key]) => keys.includes(key)));
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.map(String).join('.');
  if (!field) return issue.message;
  if (issue.code === 'invalid_value' && 'values' in issue) return `\`${field}\` must be one of ${issue.values.map(String).join(', ')} (got ${quote(issue.input)})`;
  if (!('input' in issue) || issue.input === undefined) return `missing field \`${field}\``;
  // A custom message already quotes what it got.
  return issue.message.includes('(got ') ? `\`${field}\`: ${issue.message}` : `\`${field}\`: ${issue.message} (got ${quote(issue.input)})`;
}

/** A cycle of `after` references among steps, in order, or undefined. */
function findCycle(steps: readonly Step[]): string[] | undefined {
  const after = new Map(steps.map((s) => [s.name, s.after]));
  for (const start of steps) {
    const path: string[] = [];
    let current: string | undefined = start.name;
    while (current !== undefined && after.has(current)) {
      if (path.includes(current)) return current === start.name ? [...path, current] : undefined;
      path.push(current);
      current = after.get(current);
    }
  }
  return undefined;
}

/** Expectations that name steps (`afterStep`, `oomKilledWithin.of`, a load expectation's `after`) must name one of this configuration. */
export function checkStepReferences(steps: readonly Step[], expect: Record<string, Expectation>, load: LoadExpectation | undefined, where: string): void {
  const names = steps.map((s) => s.name);
  const references = [
    ...Object.entries(expect).flatMap(([instance, e]) => [
      ...(e.afterStep !== undefined ? [{ name: e.afterStep, as: `expect.${instance}.afterStep` }] : []),
      ...(e.oomKilledWithin ? [{ name: e.oomKilledWithin.of, as: `expect.${instance}.oomKilledWithin.of` }] : []),
    ]),
    ...(load?.after !== undefined ? [{ name: load.after, as: 'workload.expect.after' }] : []),
  ];
  for (const { name, as } of references) {
    if (names.includes(name)) continue;
    const suggestion = closest(name, names);
    throw new ScenarioInvalidError(
      `${where}: ${as} ${quote(name)} is not a step of this configuration${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; steps are: ${names.join(', ') || '(none)'}`,
    );
  }
}
