// The answer a report opens with, derived from the expectations and the outcomes (never written by hand):
// one headline per claim of the scenario, the configurations ranked by headroom, and what did not run.
import { SIGNATURE_WORDS } from './signature.ts';
import type { AxisValue, Outcome } from './config.ts';
import type { ConfigResult, RunReport, SharedMemoryBudget } from './report.ts';
import type { ObservationOf } from './observation.ts';
import { formatBytes } from './units.ts';
import { labRoomBytes } from './lab-room.ts';
import { stepContainerText, stepKills } from './step-kills.ts';
import { caveatsOf, caveatText } from './load-caveats.ts';
import { isSetValue, setValuesOf, setValuesText } from './set-values.ts';
import { expectedText, outcomeWords, verdictWords } from './verdict-words.ts';

/** A piece of a headline: words, or a figure quoted as the kernel printed it (rendered as code). */
export type Part = string | { code: string };

export interface Headline {
  /** `Reproduced:`, `Survived with fix=ulimit-4096:`, `Killed all the same with fix=tuned-my.cnf:` … */
  lead: string;
  parts: Part[];
  /** good: as expected; bad: not as expected or not reproduced; mixed: flaky or undecided among them; none: nothing ran. */
  tone: 'good' | 'bad' | 'mixed' | 'none';
}

export interface RankedConfig {
  config: ConfigResult;
  /** What sets it apart from the incident's configuration, in the axes that vary among the configurations that ran. */
  label: string;
  /** The peak the ranking reads: anonymous memory where sampled, else the cgroup's usage. */
  peakBytes?: number;
  anonymous: boolean;
  limitBytes?: number;
  /** The limit is the lab VM's room (a global OOM's budget for a server with no container limit), not a cgroup's. */
  limitIsRoom?: boolean;
  /** The side whose budget the limit is, when other tenants share it: the peak is then the budget's own (every tenant's). */
  budget?: string;
  /** limit − peak; absent when killed or either is unknown. */
  headroomBytes?: number;
  /** Why the headroom is not known though the peak is: a budget that steps' neighbours share, not measured. */
  headroomUnknown?: string;
  /** A survivor whose shared budget reached its limit (a step's neighbour killed in it): its headroom is none. */
  ranOut?: string;
  killed: boolean;
  /** A survivor whose fix was OOM-killed elsewhere: `fix=tuned-my.cnf was killed with open_files_limit=explicit`. */
  caveat?: string;
  /** A survivor whose load was not served: `only 34 of 1,500 sessions the load asked for completed; …` (load-caveats.ts). */
  loadCaveat?: string;
}

export interface SkipGroup {
  reason: string;
  configs: ConfigResult[];
  /** The axis values the group shares and no configuration that ran has: what it lacked (`image=mysql:5.7`, `numa=interleave`). */
  which: Record<string, AxisValue>;
}

export interface Answer {
  headlines: Headline[];
  ranking: RankedConfig[];
  skipped: SkipGroup[];
  /** The configuration the claims are told against: production's, or the first expected to be killed. */
  baseline?: ConfigResult;
}

const isKill = (outcome: Outcome | null | undefined): boolean => outcome?.startsWith('oom-killed') ?? false;
const ran = (c: ConfigResult) => c.verdict !== 'skipped';

/** The scenario's `because` for an instance; reports written before it was kept carry it only in a passed instance's reason. */
function becauseFor(config: ConfigResult, instance: string): string | undefined {
  const kept = config.because?.[instance];
  if (kept !== undefined) return kept;
  const judged = config.instances.find((j) => j.instance === instance);
  const match = judged?.verdict === 'pass' ? /^[a-z-]+, as expected: (.*)$/s.exec(judged.reason) : null;
  return match?.[1];
}

/** The instance a claim is about: the first expected to be killed, else the first named. */
function subject(config: ConfigResult): string | undefined {
  const entries = Object.entries(config.expected);
  return (entries.find(([, outcome]) => isKill(outcome)) ?? entries[0])?.[0];
}

/**
 * The configuration production plays: an axis value `production` (from-incident), else the first expected to be
 * killed that ran (a skipped one would make every label name what this host lacks, `image=…`), else the first.
 */
export function baselineConfig(configs: readonly ConfigResult[]): ConfigResult | undefined {
  const expectsKill = (c: ConfigResult) => Object.values(c.expected).some((outcome) => isKill(outcome));
  return configs.find((c) => Object.values(c.axes).includes('production')) ?? configs.find((c) => expectsKill(c) && ran(c)) ?? configs.find(expectsKill) ?? configs[0];
}

/** The axis whose values are the fixes a scenario tries (nofile-oom, the families, from-incident's scenarios). */
export const FIX_AXIS = 'fix';

function varying(configs: readonly ConfigResult[]): string[] {
  return Object.keys(configs[0]?.axes ?? {}).filter((axis) => new Set(configs.map((c) => c.axes[axis])).size > 1);
}

/** `fix=ulimit-4096 memory=1g (--set)`: a value the command line set, not the file, says so. */
const pairs = (values: Record<string, AxisValue>, marks?: Marks) =>
  Object.entries(values)
    .map(([axis, value]) => `${axis}=${value}${marks && isSetValue(marks, axis, value) ? ' (--set)' : ''}`)
    .join(' ');

/** What the run took from the command line (`--set`): a report without overrides marks nothing. */
type Marks = Pick<RunReport, 'overrides'>;

/** Production's configuration, unless `--set` moved one of its values off the file's: then it says which. */
function incidentLabel(baseline: ConfigResult, marks: Marks): string {
  const set = setValuesOf(marks, baseline);
  return set.length > 0 ? `the incident's configuration, but at ${setValuesText(set)}` : "the incident's configuration";
}

/** The axis values every configuration of a group shares, among the axes that vary. */
function common(group: readonly ConfigResult[], axes: readonly string[]): Record<string, AxisValue> {
  const first = group[0]!;
  return Object.fromEntries(axes.filter((axis) => group.every((c) => c.axes[axis] === first.axes[axis])).map((axis) => [axis, first.axes[axis]!]));
}

/** The values on `axes` where `values` (a configuration's axes, or a group's shared ones) differ from the baseline's. */
function differences(values: Readonly<Record<string, AxisValue>>, baseline: ConfigResult | undefined, axes: readonly string[]): Record<string, AxisValue> {
  return Object.fromEntries(axes.filter((axis) => baseline === undefined || values[axis] !== baseline.axes[axis]).map((axis) => [axis, values[axis]!]));
}

/** The anonymous peak where it was sampled (page cache is not what the OOM killer frees last), else the cgroup's. */
export function headlinePeak(config: ConfigResult): { bytes?: number; anonymous: boolean } {
  const m = config.metrics;
  // The judge's anonymous peak (the kill's anon-rss counted): the figure the verdict table shows beside it.
  if (m.peakUsageBytes !== undefined && m.peakMemoryBytes !== undefined) return { bytes: m.peakMemoryBytes, anonymous: true };
  if (m.peakRssBytes !== undefined) return { bytes: m.peakRssBytes, anonymous: true };
  return { ...(m.peakMemoryBytes !== undefined ? { bytes: m.peakMemoryBytes } : {}), anonymous: false };
}

const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `total-vm:16827320kB anon-rss:1048124kB`: the kill as the kernel printed it, from the first killed configuration. */
function killFigure(configs: readonly ConfigResult[], instance: string): string | undefined {
  for (const config of configs) {
    const kill = config.observations.find((o) => o.kind === 'kernel-oom' && o.instance === instance);
    if (kill?.kind === 'kernel-oom') return `total-vm:${kill.totalVmKb}kB, anon-rss:${kill.anonRssKb}kB`;
  }
  return undefined;
}

function peakFigure(configs: readonly ConfigResult[]): string | undefined {
  const peaks = configs.map((c) => ({ ...headlinePeak(c), limit: c.metrics.memoryLimitBytes, config: c })).filter((p) => p.bytes !== undefined);
  if (peaks.length === 0) return undefined;
  const top = peaks.reduce((a, b) => (b.bytes! > a.bytes! ? b : a));
  // A limit shared with neighbours: the server's own peak beside the budget's, or the answer and the ranking give two peaks unexplained.
  const { budget, budgetPeak } = sharedBudgetPeak(top.config);
  const shared = budget && budgetPeak !== undefined ? ` for the server alone; side ${budget.side}, shared with its neighbours, peaked at ${formatBytes(budgetPeak)}` : '';
  return `peak ${top.anonymous ? 'anonymous memory ' : ''}${formatBytes(top.bytes!)}${top.limit ? ` of ${formatBytes(top.limit)}` : ''}${shared}`;
}

/** What happened instead, tallied: `survived 2, could not decide (harness error) 1`. */
function otherwise(configs: readonly ConfigResult[]): string {
  const tally = new Map<string, number>();
  for (const c of configs) {
    const what = c.verdict === 'fail' || c.verdict === 'pass' ? outcomeWords(c.outcome) : c.verdict === 'error' && c.endedBy === 'cancel' ? 'cancelled' : verdictWords(c);
    tally.set(what, (tally.get(what) ?? 0) + 1);
  }
  return [...tally].map(([what, n]) => `${what} ${n}`).join(', ');
}

interface Claim {
  instance: string;
  expected: Outcome;
  because: string | undefined;
  configs: ConfigResult[];
}

/**
 * Fixes tried one at a time that share a reason (`from-incident`'s "the fix keeps the server inside its
 * limit") are a claim each: which fix worked is the question the answer is for.
 */
function splitOneAtATime(group: ConfigResult[], baseline: ConfigResult | undefined, configs: readonly ConfigResult[]): ConfigResult[][] {
  if (!baseline || group.includes(baseline)) return [group];
  const axes = varying(configs);
  const apart = group.map((c) => Object.entries(differences(c.axes, baseline, axes)));
  if (!apart.every((d) => d.length === 1)) return [group];
  const keys = apart.map((d) => `${d[0]![0]}=${d[0]![1]}`);
  if (new Set(keys).size < 2) return [group];
  return [...new Set(keys)].map((key) => group.filter((_, i) => keys[i] === key));
}

/** Claims: configurations that expect the same outcomes for the same reasons; a reason not kept joins the only claim of its outcomes. */
function claims(configs: readonly ConfigResult[], baseline: ConfigResult | undefined): Claim[] {
  const outcomesKey = (c: ConfigResult) => JSON.stringify(Object.entries(c.expected));
  const reasonsKey = (c: ConfigResult) => JSON.stringify(Object.keys(c.expected).map((instance) => becauseFor(c, instance) ?? null));
  const known = new Map<string, ConfigResult[]>();
  const unknown: ConfigResult[] = [];
  for (const c of configs) {
    if (Object.keys(c.expected).length === 0) continue;
    const reasons = Object.keys(c.expected).map((instance) => becauseFor(c, instance));
    if (reasons.every((r) => r === undefined)) unknown.push(c);
    else {
      const key = `${outcomesKey(c)}|${reasonsKey(c)}`;
      known.set(key, [...(known.get(key) ?? []), c]);
    }
  }
  for (const c of unknown) {
    const same = [...known.keys()].filter((key) => key.startsWith(`${outcomesKey(c)}|`));
    const key = same.length === 1 ? same[0]! : `${outcomesKey(c)}|?`;
    known.set(key, [...(known.get(key) ?? []), c]);
  }
  return [...known.values()]
    .flatMap((group) => splitOneAtATime(group, baseline, configs))
    .map((group) => {
      const first = group.find((c) => becauseFor(c, subject(c)!) !== undefined) ?? group[0]!;
      const instance = subject(first)!;
      return { instance, expected: first.expected[instance]!, because: becauseFor(first, instance), configs: group };
    });
}

function headline(claim: Claim, baseline: ConfigResult | undefined, axes: readonly string[], multiple: boolean, marks: Marks): Headline {
  const done = claim.configs.filter(ran);
  const notRun = claim.configs.length - done.length;
  const asExpected = done.filter((c) => c.verdict === 'pass');
  const wrong = done.filter((c) => c.verdict === 'fail');
  const undecided = done.filter((c) => c.verdict === 'flaky' || c.verdict === 'error');
  const scope = common(claim.configs, axes);
  const apart = differences(scope, baseline, Object.keys(scope));
  // `[a]`, as the evidence names an instance: a bare `a` reads as an article.
  const who = multiple ? `[${claim.instance}] ` : '';
  const expectedWords = `${who}${outcomeWords(claim.expected)}`;
  const why = claim.because ? ` ${claim.because}` : '';
  const notRunText = notRun > 0 ? `; ${count(notRun, 'configuration')} not run` : '';
  const tone: Headline['tone'] = done.length === 0 ? 'none' : wrong.length > 0 ? 'bad' : undecided.length > 0 ? 'mixed' : 'good';
  const tally = `${asExpected.length} of ${count(done.length, 'configuration')}`;
  const rest = wrong.length + undecided.length > 0 ? ` (the others: ${otherwise([...wrong, ...undecided])})` : '';
  const isBaselineClaim = baseline !== undefined && claim.configs.includes(baseline);
  if (done.length === 0) {
    const where = Object.keys(scope).length > 0 ? ` with ${pairs(scope)}` : '';
    return { lead: `Not run${where}:`, parts: [`expected ${expectedWords}${claim.because ? `, because ${claim.because}` : ''}; ${count(notRun, 'configuration')} skipped (see below).`], tone };
  }
  if (isKill(claim.expected) && isBaselineClaim) {
    // A configuration cancelled (or erred) before it was decided says nothing either way: only decided ones count.
    const decided = done.length - undecided.length;
    if (decided === 0) {
      return {
        lead: 'Not decided:',
        parts: [`${claim.because ?? 'the incident'} — expected ${expectedWords}; ${count(undecided.length, 'configuration')} ended before it was decided (${otherwise(undecided)})${notRunText}.`],
        tone: 'mixed',
      };
    }
    const lead = asExpected.length === done.length ? 'Reproduced:' : asExpected.length === 0 ? 'Not reproduced:' : 'Partly reproduced:';
    const others = done.filter((c) => c !== baseline).map((c) => `with ${pairs(differences(c.axes, baseline, axes), marks)}`);
    const listed = others.length > 0 && others.length <= 5 ? [...(done.includes(baseline) ? [incidentLabel(baseline, marks)] : []), ...others] : [];
    const members = listed.length > 0 ? `: ${listed.slice(0, -1).join(', ')}${listed.length > 1 ? ' and ' : ''}${listed.at(-1)}` : '';
    const figure = killFigure(asExpected, claim.instance);
    return {
      lead,
      parts: [
        `${claim.because ?? 'the incident'} — ${expectedWords} in ${asExpected.length} of ${count(decided, 'configuration')}${Object.keys(scope).length > 0 ? ` (${pairs(scope, marks)})` : ''}${members}${rest}${notRunText}`,
        ...(figure ? ['; the kernel: ', { code: figure }] : []),
        '.',
      ],
      tone,
    };
  }
  const withWhat = Object.keys(apart).length > 0 ? ` with ${pairs(apart, marks)}` : spread(done, baseline, varying(done));
  if (isKill(claim.expected)) {
    if (wrong.length === 0 && undecided.length === 0) {
      const figure = killFigure(done, claim.instance);
      return { lead: `Killed all the same${withWhat}:`, parts: [`${tally}, as expected:${why}`, ...(figure ? [' — ', { code: figure }] : []), '.'], tone };
    }
    return {
      lead: `${wrong.length === 0 ? 'Not decided' : 'Not as expected'}${withWhat}:`,
      parts: [`${asExpected.length} of ${done.length} ${outcomeWords(claim.expected)}${rest} — expected ${expectedWords}${claim.because ? `, because ${claim.because}` : ''}.`],
      tone,
    };
  }
  const peak = peakFigure(asExpected);
  if (wrong.length === 0 && undecided.length === 0) {
    // Survived, but the load was not served: the survival is not the clean pass it reads as.
    const unserved = asExpected.filter((c) => caveatsOf(c).length > 0);
    const but = unserved.map((c) => `${unserved.length > 1 || done.length > 1 ? `${pairs(differences(c.axes, baseline, axes)) || c.id}: ` : ''}${caveatText(caveatsOf(c))}`);
    // The server survived because the kernel took a neighbour in its budget instead: a fix that trades the app for the database.
    const atNeighbours = asExpected.flatMap((c) => {
      const { killed } = sharedBudgetPeak(c);
      return killed ? [`${asExpected.length > 1 ? `${pairs(differences(c.axes, baseline, axes)) || c.id}: ` : ''}the kernel killed ${stepContainerText(killed)}`] : [];
    });
    return {
      lead: `${outcomeWords(claim.expected).replace(/^./, (c) => c.toUpperCase())}${withWhat}:`,
      parts: [
        `${tally}${peak ? `, ${peak}` : ''} — as expected:${why}.`,
        ...(but.length > 0 ? [` But not a clean pass, the load was not served: ${but.join('; ')}.`] : []),
        ...(atNeighbours.length > 0 ? [` At its neighbours' cost: its budget ran out and ${atNeighbours.join('; ')} instead.`] : []),
      ],
      tone: but.length > 0 || atNeighbours.length > 0 ? 'mixed' : tone,
    };
  }
  const outcomes = otherwise(done);
  // Only harness errors: nothing said the fix fails, so the lead must not read as if it had.
  return {
    lead: `${wrong.length === 0 ? 'Not decided' : 'Not as expected'}${withWhat}:`,
    parts: [`in ${count(done.length, 'configuration')}: ${outcomes} — expected ${expectedText(claim.expected)}${claim.because ? `, because ${claim.because}` : ''}.`],
    tone,
  };
}

/**
 * What a group that shares no value apart from the baseline covers: ` across nofile=default or 1048576,
 * fix=none or tuned-my.cnf` — the axes on which its members differ among themselves.
 */
function spread(group: readonly ConfigResult[], baseline: ConfigResult | undefined, axes: readonly string[]): string {
  const spans = axes
    .map((axis) => [axis, [...new Set(group.map((c) => c.axes[axis]))]] as const)
    .filter(([axis, values]) => values.length > 1 || (baseline !== undefined && values[0] !== baseline.axes[axis]))
    .map(([axis, values]) => `${axis}=${values.join(' or ')}`);
  return spans.length > 0 ? ` across ${spans.join(', ')}` : ' in every configuration';
}

/** One line per reason a configuration did not run, with how many and which. */
export function skipGroups(configs: readonly ConfigResult[]): SkipGroup[] {
  const groups = new Map<string, ConfigResult[]>();
  for (const c of configs.filter((c) => c.verdict === 'skipped')) groups.set(c.reason, [...(groups.get(c.reason) ?? []), c]);
  const others = configs.filter(ran);
  return [...groups].map(([reason, members]) => {
    const shared = common(members, Object.keys(members[0]!.axes));
    // Only values no configuration that ran had: what the host could not give (an image, a second NUMA node).
    const which = Object.fromEntries(Object.entries(shared).filter(([axis, value]) => others.length > 0 && !others.some((c) => c.axes[axis] === value)));
    return { reason, configs: members, which };
  });
}

/**
 * The budget a configuration's limit is, when other tenants share it (instances, the steps' neighbours): its own
 * cgroup's peak (anonymous where sampled) is what the limit held; unmeasured with steps' neighbours in it, the
 * instance's own peak says nothing of the headroom left (`unknownShare`).
 */
export function sharedBudgetPeak(config: ConfigResult): {
  budget?: SharedMemoryBudget;
  budgetPeak?: number;
  unknownShare: boolean;
  ranOut?: string;
  /** The step's neighbour the kernel killed when the budget ran out. */
  killed?: ObservationOf<'kernel-oom'>;
} {
  const limit = config.metrics.memoryLimitBytes;
  const budget = config.sharedMemory?.find((b) => b.limitBytes === limit && b.instances.length + (b.steps?.length ?? 0) > 1);
  if (!budget) return { unknownShare: false };
  const budgetPeak = budget.anonPeakBytes ?? budget.peakBytes;
  // A step's neighbour killed in it: the budget reached its limit, whatever a 200 ms sampler saw before the kill.
  const killed = stepKills(config.observations, budget.steps)[0];
  const ranOut = killed ? `side ${budget.side} ran out: the kernel killed ${stepContainerText(killed)}` : undefined;
  return {
    budget,
    ...(budgetPeak !== undefined ? { budgetPeak } : {}),
    unknownShare: budgetPeak === undefined && ranOut === undefined && (budget.steps?.length ?? 0) > 0,
    ...(ranOut ? { ranOut, killed } : {}),
  };
}

/** Ran configurations, the most headroom first; killed ones last. */
function rank(configs: readonly ConfigResult[], baseline: ConfigResult | undefined, marks: Marks, roomBytes?: number): RankedConfig[] {
  const done = configs.filter((c) => ran(c) && c.outcome !== null);
  const axes = varying(done);
  const ranked = done.map((config): RankedConfig => {
    const headline = headlinePeak(config);
    // With no container limit in a lab VM that left a room, the room is what a fix's peak stands against.
    const isRoom = config.metrics.memoryLimitBytes === undefined && roomBytes !== undefined;
    const limit = config.metrics.memoryLimitBytes ?? roomBytes;
    const killed = isKill(config.outcome);
    const { budget, budgetPeak, unknownShare, ranOut } = sharedBudgetPeak(config);
    const bytes = budgetPeak ?? headline.bytes;
    const anonymous = budgetPeak !== undefined ? budget?.anonPeakBytes !== undefined : headline.anonymous;
    const everyAxis = Object.keys(config.axes);
    const label =
      config === baseline ? incidentLabel(config, marks) : pairs(differences(config.axes, baseline, axes), marks) || pairs(differences(config.axes, baseline, everyAxis), marks) || config.id;
    return {
      config,
      label,
      anonymous,
      killed,
      ...(bytes !== undefined ? { peakBytes: bytes } : {}),
      ...(limit !== undefined ? { limitBytes: limit } : {}),
      ...(isRoom ? { limitIsRoom: true } : {}),
      ...(budget && budgetPeak !== undefined ? { budget: budget.side } : {}),
      ...(!killed && !unknownShare && bytes !== undefined && limit !== undefined ? { headroomBytes: ranOut ? 0 : limit - bytes } : {}),
      ...(!killed && ranOut ? { ranOut } : {}),
      ...(!killed && unknownShare && budget
        ? { headroomUnknown: `not known: side ${budget.side}'s neighbours (step${budget.steps!.length > 1 ? 's' : ''} ${budget.steps!.join(', ')}) were not measured` }
        : {}),
    };
  });
  // A fix that was killed in some configuration is not a fix: its survivors rank after those of fixes that never died,
  // however much headroom they had where the incident's trigger was absent (the red herring's small buffers).
  const killedWith = (r: RankedConfig): string | undefined => {
    const fix = r.config.axes[FIX_AXIS];
    if (r.killed || fix === undefined) return undefined;
    const kill = ranked.find((k) => k.killed && k.config.axes[FIX_AXIS] === fix);
    if (!kill) return undefined;
    const where = pairs(differences(kill.config.axes, r.config, axes));
    return `${FIX_AXIS}=${fix} was OOM-killed${where ? ` with ${where}` : ''}`;
  };
  for (const r of ranked) {
    const caveat = killedWith(r);
    if (caveat) r.caveat = caveat;
    const unserved = caveatsOf(r.config);
    if (unserved.length > 0) r.loadCaveat = caveatText(unserved);
  }
  const share = (r: RankedConfig) => (r.headroomBytes !== undefined && r.limitBytes ? r.headroomBytes / r.limitBytes : -1);
  // A survivor that did not serve its load ranks after those that did, however much headroom refusing clients left it.
  const doubtful = (r: RankedConfig) => Number(r.caveat !== undefined) * 2 + Number(r.loadCaveat !== undefined);
  return ranked.sort((a, b) => Number(a.killed) - Number(b.killed) || doubtful(a) - doubtful(b) || share(b) - share(a));
}

/** The answer: a headline per claim (the incident's first), the ranking, and what did not run. */
export function answerOf(report: RunReport): Answer {
  const baseline = baselineConfig(report.configs);
  const axes = varying(report.configs);
  const multiple = report.configs.some((c) => Object.keys(c.expected).length > 1);
  const all = claims(report.configs, baseline);
  // The incident's claim first, then the other kills (what did not help), then what survived.
  // Survivals that differ from the incident's configuration (its fixes) before those that share its values.
  const order = (c: Claim) =>
    baseline && c.configs.includes(baseline) ? 0 : isKill(c.expected) ? 1 : Object.keys(differences(common(c.configs, axes), baseline, Object.keys(common(c.configs, axes)))).length > 0 ? 2 : 3;
  const sorted = all.map((c, i) => ({ c, i })).sort((a, b) => order(a.c) - order(b.c) || a.i - b.i);
  const headlines = sorted.map(({ c }) => headline(c, baseline, axes, multiple, report));
  // Production's own kill decides the word: a kill whose figures differ from production's is not "Reproduced".
  const signature = report.signature;
  if (signature && signature.verdict !== 'reproduced' && headlines[0]?.lead === 'Reproduced:') {
    headlines[0] = { ...headlines[0], lead: `Killed as expected, but ${SIGNATURE_WORDS[signature.verdict].toLowerCase()} against production's kill above:`, tone: 'mixed' };
  }
  // The image that stood in for production's server is named wherever the incident's verdict is.
  const first = headlines[0];
  if (signature?.standIn && first && baseline && sorted[0]?.c.configs.includes(baseline)) {
    headlines[0] = { ...first, lead: first.lead.replace(/:$/, `, with ${signature.standIn.image} standing in for production's ${signature.standIn.production}:`) };
  }
  const skipped = skipGroups(report.configs);
  if (skipped.length > 0) {
    const total = skipped.reduce((n, g) => n + g.configs.length, 0);
    headlines.push({
      lead: `${count(total, 'configuration')} not run:`,
      parts: [skipped.map((g) => `${g.configs.length} because ${firstSentence(g.reason)}`).join('; '), ' (what to do: below).'],
      tone: 'none',
    });
  }
  // One lab VM's room for every configuration: with several hosts a configuration's room is not known here.
  const room = report.labs === undefined ? labRoomBytes(report.host?.lab) : undefined;
  return { headlines, ranking: rank(report.configs, baseline, report, room), skipped, ...(baseline ? { baseline } : {}) };
}

/** `#3`: a configuration's number, its place in the report's configurations; progress and every format use it. */
export function configTag(report: Pick<RunReport, 'configs'>, config: ConfigResult): string {
  return `#${report.configs.indexOf(config) + 1}`;
}

/** `3.9 GiB (95 %)`, or why there is none. */
export function headroomText(r: RankedConfig): string {
  if (r.killed) return 'none: killed';
  if (r.headroomUnknown !== undefined) return r.headroomUnknown;
  if (r.ranOut !== undefined) return `none: ${r.ranOut}`;
  if (r.headroomBytes === undefined || !r.limitBytes) return '—';
  return `${formatBytes(r.headroomBytes)} (${Math.round((r.headroomBytes / r.limitBytes) * 100)} %)`;
}

/** The ranking's label with what stands against it: `fix=max-connections-10 (but only 34 of 1,500 sessions …)`. */
export function rankedLabel(r: RankedConfig): string {
  const buts = [r.caveat, r.loadCaveat ? `not a clean pass: ${r.loadCaveat}` : undefined].filter((b): b is string => b !== undefined);
  return buts.length > 0 ? `${r.label} (but ${buts.join('; and ')})` : r.label;
}

export function peakText(r: RankedConfig): string {
  if (r.peakBytes === undefined) return '—';
  return `${r.budget !== undefined ? `side ${r.budget} ` : ''}${formatBytes(r.peakBytes)}${r.limitBytes ? ` / ${formatBytes(r.limitBytes)}${r.limitIsRoom ? " (the lab VM's room)" : ''}` : ''}${r.anonymous ? ' anon' : ''}`;
}

/** `9 with image=mysql:5.7: image mysql:5.7 is not here … — run …`: one line per reason. */
export function skipLine(group: SkipGroup): string {
  const which = Object.keys(group.which).length > 0 ? ` with ${pairs(group.which)}` : '';
  return `${group.configs.length} configuration${group.configs.length === 1 ? '' : 's'}${which}: ${group.reason}`;
}

/** A skip reason up to its advice (` — run …`), which the skipped list gives in full. */
export function firstSentence(reason: string): string {
  return reason.split(' — ')[0]!;
}
