import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { describeError, EngineLostError, OomlabError } from '../0-model/errors.ts';
import { readMemoryHeadroom, readNodeMemoryHeadroom, readThpMode, startSyscallTracer, type SyscallTracer } from '../4-observe/index.ts';
import { inShard, planScenario, shardOf, type PlanOptions, type PlannedConfig, type Shard } from '../2-plan/index.ts';
import { compareWithBaseline, readReportFile, writeReports } from '../7-report/index.ts';
import { buildNofileShim, dockerRuntime, type ImageResolution, type Runtime } from '../3-runtime/index.ts';
import { loadScenario } from '../1-scenario/index.ts';
import { runConfig, type Routing } from './run-config.ts';
import { hostGroups, hostOverrideLine, openHost as openHostOf, type HostGroup, type OpenedHost, type RuntimeOf } from './hosts.ts';
import { Teardown } from './teardown.ts';
import { chooseJobs, placementOf, runScheduled, type Placement } from './schedule.ts';
import { agreeRepeats, becauseOf, labSignatureContext, matchSignature } from '../6-judge/index.ts';
import { REPORT_SCHEMA_VERSION, summarize, type ConfigConcurrency, type ConfigResult, type EndedBy, type HostSettingChange, type Progress, type RunJobs, type RunReport } from '../0-model/report.ts';
import type { HostFacts, LabHostFacts } from '../0-model/host.ts';
import { folderTimestamp } from '../0-model/folder-time.ts';
import { requireSameScenario } from '../0-model/baseline-check.ts';

export * from '../0-model/report.ts';
export { Teardown } from './teardown.ts';
export { chooseJobs, parseJobs, placementOf, type JobsChoice, type Placement } from './schedule.ts';

export interface RunOptions extends PlanOptions {
  scenarioPath: string;
  /** The container engine. @default dockerRuntime */
  runtime?: Runtime;
  /** The runtime of a `--host` value, for configurations the scenario places on a host of their own (`host(config).runtime`). @default docker only */
  runtimeOf?: RuntimeOf;
  /** @default 'reports' */
  reportsDir?: string;
  /** Pull missing images from a registry. @default false */
  pull?: boolean;
  /** A configuration that has not finished after this long ends as `error` (timeout). @default 300_000, times a TCG lab's time scale */
  configTimeoutMs?: number;
  /** A report.json (or run folder) of an earlier run of the same scenario: regressions are marked. */
  baseline?: string;
  /** Runs of each configuration (a full lifecycle each); pass or fail only when all agree, else `flaky`. @default 1 */
  repeat?: number;
  /** How many configurations run at once; start-up-only ones share the host by default, load and host-wide ones do not (schedule.ts). @default chosen from the host's cores and memory */
  jobs?: number;
  /** Aborted by SIGINT/SIGTERM in the CLI. */
  signal: AbortSignal;
  /** Run only this part of the matrix (`--shard 2/3`); `oomlab merge` joins the parts. */
  shard?: Shard;
  onProgress?: (progress: Progress) => void;
}

export interface RunOutcome {
  report: RunReport;
  reportDir: string;
}

/**
 * The pipeline: scenario → plan → provision → observe → judge → report. Bad input fails before
 * anything is written; once the report folder exists, every path ends with a report and no container.
 */
export async function runScenario(options: RunOptions): Promise<RunOutcome> {
  const progress = options.onProgress ?? (() => {});
  const scenario = await loadScenario(options.scenarioPath);
  // One pass: validates everything the scenario declares before any engine or file is touched.
  const plan = planScenario(scenario, options);
  const matrix = plan.configs;
  const draft = options.shard ? inShard(matrix, options.shard) : matrix;
  const scenarioSha256 = createHash('sha256')
    .update(await readFile(scenario.file ?? options.scenarioPath))
    .digest('hex');
  const { overrides } = plan;
  const baseline = options.baseline ? await readReportFile(options.baseline) : undefined;
  if (baseline) requireSameScenario(baseline, scenario.name);
  // A shard answers only for its own configurations: the rest of the baseline is other shards' to compare.
  const { shard } = options;
  if (baseline && shard) baseline.report.configs = baseline.report.configs.filter((c) => shardOf(c.id, shard.count) === shard.index);
  // Every engine call goes through the runtime's connection (src/3-runtime/runtime.ts): a second engine is another Runtime.
  const runtime: Runtime = options.runtime ?? dockerRuntime;
  // The scenario may place configurations on hosts of their own (host(config).runtime): one connection (one lab VM) per host, in turn.
  const groups = hostGroups(draft, runtime, options.runtimeOf);
  const overrideLine = hostOverrideLine(groups, options.runtime?.name);
  if (overrideLine) progress({ kind: 'message', text: overrideLine });
  const severalHosts = groups.length > 1;
  const first = await openHost(groups[0]!);
  const { host } = first;
  // Nothing at all can run: that is bad input (a missing image), not a report of skips. A shard of
  // skips still reports them: the other shards' images are not looked at, and merge needs every shard.
  if (!shard && !severalHosts && first.configs.every((c) => c.skip)) {
    await first.connection.close?.();
    throw new OomlabError('IMAGE_MISSING', first.configs[0]!.skip!);
  }

  const startedAt = new Date();
  const runId = `${folderTimestamp(startedAt)}-${randomBytes(3).toString('hex')}`;
  const reportDir = resolve(options.reportsDir ?? 'reports', `${folderTimestamp(startedAt)}-${scenario.name}`);
  await mkdir(reportDir, { recursive: true });

  const run = { runId, scenario: scenario.name };
  const controller = new AbortController();
  const abortRun = () => controller.abort(options.signal.reason);
  options.signal.addEventListener('abort', abortRun, { once: true });
  const teardown = new Teardown();
  teardown.defer(() => options.signal.removeEventListener('abort', abortRun));
  // Fault commands and step phases go to the run's own log, not the terminal; opened on the first line.
  let runLog: WriteStream | undefined;
  teardown.defer(() => runLog && new Promise<void>((done) => runLog!.end(done)));
  const log = (line: string) => (runLog ??= createWriteStream(join(reportDir, 'run.log'), { flags: 'a' })).write(`${new Date().toISOString()} ${line}\n`);

  const routing: Routing = { byContainer: new Map(), byHostname: new Map() };
  const results = new Map<string, ConfigResult>();
  const runsOf = new Map<string, { results: ConfigResult[]; concurrency: ConfigConcurrency[]; left: number }>();
  const total = draft.length;
  let finished = 0;
  // The report lists the configurations in this order and numbers them #1…: progress says the same numbers.
  const numberOf = (config: PlannedConfig) => draft.findIndex((c) => c.id === config.id) + 1;
  const finish = (config: PlannedConfig, result: ConfigResult) => {
    results.set(config.id, severalHosts ? { ...result, ranOn: hostOfConfig.get(config.id)! } : result);
    progress({ kind: 'config-end', index: config.index, number: numberOf(config), total, result, finished: ++finished });
  };
  const hostOfConfig = new Map(groups.flatMap((group) => group.configs.map((c) => [c.id, group.host] as const)));
  // Each host's configurations, skips marked by that host; a host never opened keeps the plan's.
  const configsOf = new Map<HostGroup, PlannedConfig[]>([[groups[0]!, first.configs]]);
  const images = new Map<string, ImageResolution>(first.images);
  const labs: LabHostFacts[] = first.host.lab ? [first.host.lab] : [];
  let jobsOfRun: RunJobs | undefined;
  let hostChanges: HostSettingChange[] = [];
  let endedBy: EndedBy = 'done';
  let runError: string | undefined;
  let shim: Promise<string> | undefined;

  try {
    for (const [i, group] of groups.entries()) {
      if (controller.signal.aborted) break;
      if (severalHosts) progress({ kind: 'message', text: `host ${i + 1} of ${groups.length}: ${group.host}, ${group.configs.length} configuration(s)` });
      const opened = i === 0 ? first : await openHost(group);
      configsOf.set(group, opened.configs);
      for (const [name, found] of opened.images) if (!images.has(name)) images.set(name, found);
      if (i > 0 && opened.host.lab) labs.push(opened.host.lab);
      await runOnHost(opened);
    }
    if (controller.signal.aborted) {
      endedBy = controller.signal.reason instanceof OomlabError && controller.signal.reason.code === 'ENGINE_LOST' ? 'error' : 'cancel';
      runError = describeError(controller.signal.reason);
    }
  } catch (error) {
    // A later host's boot cut short by SIGINT is the run cancelled, not a harness error.
    // An aborted run's reason (SIGINT, the engine lost) explains it better than the error that followed from it.
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined;
    const cancelled = reason !== undefined && !(reason instanceof EngineLostError);
    endedBy = cancelled ? 'cancel' : 'error';
    runError = describeError(reason ?? error);
  } finally {
    try {
      await teardown.run();
    } catch (error) {
      runError ??= `cleanup failed: ${describeError(error)} — run \`oomlab clean\``;
      if (endedBy === 'done') endedBy = 'error';
    }
  }

  for (const change of hostChanges)
    progress({ kind: 'message', text: `${change.setting} was ${change.atStart} at the start of the run and ${change.atEnd} at its end: switched during the run from outside it` });
  const configs = groups.flatMap((group) => configsOf.get(group) ?? group.configs).sort((a, b) => a.index - b.index);
  // Configurations the run never reached are reported as such, never silently dropped.
  // A configuration whose repeats did not all run is decided on those that did (agreeRepeats counts the rest as not run).
  for (const config of configs) {
    if (results.has(config.id)) continue;
    const done = runsOf.get(config.id)?.results.filter(Boolean) ?? [];
    const why = engineLost(controller.signal) ? notReached(config, controller.signal.reason as EngineLostError) : undecided(config, endedBy === 'cancel' ? 'cancel' : 'error', runError ?? 'not run');
    const result = done.length > 0 && (options.repeat ?? 1) > 1 ? agreeRepeats(done, options.repeat!) : why;
    results.set(config.id, severalHosts ? { ...result, ranOn: hostOfConfig.get(config.id)! } : result);
  }
  const ordered = configs.map((c) => results.get(c.id)!);

  const finishedAt = new Date();
  const report: RunReport = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    scenario: scenario.name,
    incident: scenario.incident,
    scenarioFile: scenario.file ?? options.scenarioPath,
    runId,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    endedBy,
    ...(runError ? { error: runError } : {}),
    host,
    images: [...images.values()],
    emulated: ordered.flatMap((r) => r.emulated.map((e) => ({ ...e, configId: r.id }))),
    summary: summarize(ordered),
    configs: ordered,
    ...(overrides.length > 0 ? { overrides } : {}),
    scenarioSha256,
    ...(hostChanges.length > 0 ? { hostChanges } : {}),
    ...(shard ? { shard: { ...shard, matrixIds: matrix.map((c) => c.id) } } : {}),
    ...(scenario.production ? { signature: matchSignature(scenario.production, ordered, host.lab ? labSignatureContext(host.lab) : {}) } : {}),
    ...(jobsOfRun ? { jobs: jobsOfRun } : {}),
    ...(severalHosts && labs.length > 0 ? { labs } : {}),
  };
  if (baseline) report.baseline = compareWithBaseline(report, baseline.report, baseline.file);
  await writeReports(report, reportDir);
  progress({ kind: 'report', dir: reportDir });
  return { report, reportDir };

  function openHost(group: HostGroup): Promise<OpenedHost> {
    return openHostOf(group, { scenario, signal: options.signal, pull: options.pull ?? false, progress });
  }

  /** One host's configurations, from its lease to its containers removed; its connection (its lab VM) is closed before the next host's. */
  async function runOnHost(opened: OpenedHost): Promise<void> {
    const { connection, host, configs } = opened;
    const hostTeardown = new Teardown();
    // Deferred first, so the VM goes last: after its containers and observers.
    hostTeardown.defer(() => connection.close?.());
    try {
      if (shard) progress({ kind: 'message', text: `shard ${shard.index}/${shard.count}: ${configs.length} of the matrix's ${matrix.length} configurations` });
      // Which configurations may share the host, and how many run at once (schedule.ts).
      const placements = new Map(configs.filter((c) => !c.skip).map((c) => [c, placementOf(c, scenario)]));
      // A lab's guest is the node the configurations share: its vCPUs and memory, not this host's.
      const node = connection.lab ? { cpus: connection.lab.vcpus, headroom: await readNodeMemoryHeadroom(connection.node) } : { cpus: availableParallelism(), headroom: readMemoryHeadroom() };
      const jobs = chooseJobs([...placements.values()], node, options.jobs);
      jobsOfRun ??= jobs;
      const limitOf = (placement: Placement) => (placement.sharing === 'alone' ? 1 : placement.sharing === 'load' && jobs.source === 'default' ? 1 : jobs.jobs);
      progress({ kind: 'schedule', jobs });
      // Host-wide settings are one per host: a run that switches them holds the host's lease while it runs.
      if (configs.some(switchesHostSettings)) {
        const lease = await connection.nodeSettings.acquireLease({
          runId,
          scenario: scenario.name,
          signal: controller.signal,
          onWaiting: (holder) =>
            progress({ kind: 'message', text: `waiting for the host-settings lease (THP, drop_caches): held by run ${holder.runId} of ${holder.scenario} (pid ${holder.pid}, since ${holder.since})` }),
        });
        hostTeardown.defer(() => lease.release());
      }
      const watchdog = connection.watch((error) => controller.abort(error));
      hostTeardown.defer(() => watchdog.stop());
      // Containers go last: deferred first, so they are removed after the observers stop.
      hostTeardown.defer(async () => {
        const left = await connection.removeRun(runId);
        if (left > 0) progress({ kind: 'message', text: `removed ${left} leftover container(s) of run ${runId}` });
      });
      const events = await connection.watchRunEvents(runId, (event) => {
        const route = routing.byContainer.get(event.containerId);
        if (route && ['oom', 'die', 'kill', 'start'].includes(event.action)) {
          route.timeline.add({ kind: 'docker-event', instance: route.instance, action: event.action, ...(event.exitCode !== undefined ? { exitCode: event.exitCode } : {}) });
        }
      });
      hostTeardown.defer(() => events.stop());

      const runnable = configs.filter((c) => !c.skip);
      let tracer: SyscallTracer = { available: false, reason: connection.lab ? "bpftrace runs on this host and cannot see a lab VM's processes" : 'no configuration to trace' };
      if (runnable.length > 0 && !connection.lab) {
        progress({ kind: 'message', text: 'attaching the syscall tracer (bpftrace)' });
        tracer = await startSyscallTracer((call) => {
          const route = routing.byHostname.get(call.host);
          route?.timeline.add({
            kind: 'syscall',
            instance: route.instance,
            pid: call.pid,
            comm: call.comm,
            syscall: call.syscall,
            ...(call.lenBytes !== undefined ? { lenBytes: call.lenBytes } : {}),
            ...(call.flags !== undefined ? { flags: call.flags } : {}),
            line: call.line,
          });
        }, controller.signal);
        if (tracer.available) hostTeardown.defer(() => (tracer.available ? tracer.stop() : undefined));
        else progress({ kind: 'message', text: `syscall tracer unavailable: ${tracer.reason}` });
      }

      // Each unit is one run of one configuration (a repeat under --repeat); units of one configuration have their own index, so their containers never share a name.
      const repeatTimes = options.repeat ?? 1;
      const units = runnable.flatMap((config) => Array.from({ length: repeatTimes }, (_, r) => ({ config, repeat: r + 1, placement: placements.get(config)! })));
      for (const config of runnable) runsOf.set(config.id, { results: [], concurrency: [], left: repeatTimes });
      // Skipped configurations are decided at once: they take no slot.
      for (const config of configs.filter((c) => c.skip)) {
        progress({ kind: 'config-start', index: config.index, number: numberOf(config), total, id: config.id });
        finish(config, undecided(config, 'done', config.skip!, 'skipped'));
      }
      await runScheduled(
        units.map(({ placement }) => ({ limit: limitOf(placement), chargeBytes: placement.chargeBytes, ...(placement.why ? { why: placement.why } : {}) })),
        { jobs: jobs.jobs, ...(jobs.memoryBudgetBytes !== undefined ? { memoryBudgetBytes: jobs.memoryBudgetBytes } : {}), signal: controller.signal },
        async (position, concurrency) => {
          const { config, repeat } = units[position]!;
          const runs = runsOf.get(config.id)!;
          if (repeat === 1) progress({ kind: 'config-start', index: config.index, number: numberOf(config), total, id: config.id, slot: concurrency().slots[0]! });
          if (repeatTimes > 1) progress({ kind: 'phase', index: config.index, phase: `repeat ${repeat} of ${repeatTimes}` });
          let result = await decide(opened, config, repeat === 1 ? config.index : config.index + (repeat - 1) * matrix.length);
          // An engine that went away while a configuration ran also stopped its containers: what was
          // observed is not the server's doing, so the configuration is undecided and the run ends now.
          const lost = controller.signal.reason instanceof EngineLostError || (!controller.signal.aborted && !(await connection.answers()));
          if (lost) {
            const error =
              controller.signal.reason instanceof EngineLostError ? controller.signal.reason : new EngineLostError(opened.group.runtime.name, connection.where, { inVm: connection.lab !== undefined });
            if (!controller.signal.aborted) controller.abort(error);
            result = { ...undecided(config, 'error', error.message), durationMs: result.durationMs, observations: result.observations };
          }
          if (!tracer.available && result.endedBy === 'done') {
            result.observations.push({ kind: 'observer-unavailable', t: 0, observer: 'syscall-tracer', reason: tracer.reason });
          }
          runs.results[repeat - 1] = result;
          runs.concurrency[repeat - 1] = concurrency();
          if (repeatTimes > 1) progress({ kind: 'repeat-end', index: config.index, repeat, of: repeatTimes, result });
          if (--runs.left > 0) return;
          const decided = repeatTimes > 1 ? agreeRepeats(runs.results, repeatTimes) : result;
          finish(config, { ...decided, concurrency: joinConcurrency(runs.concurrency) });
        },
      );
    } finally {
      await hostTeardown.run();
      if (!connection.lab) hostChanges = hostSettingChanges(host.thpMode, readThpMode());
    }
  }

  /** One run of a configuration; `unitIndex` names its containers (a repeat's differ from the first run's). */
  async function decide(opened: OpenedHost, config: PlannedConfig, unitIndex: number): Promise<ConfigResult> {
    if (controller.signal.aborted) {
      return engineLost(controller.signal) ? notReached(config, controller.signal.reason as EngineLostError) : undecided(config, 'cancel', describeError(controller.signal.reason));
    }
    // Readiness waits are scaled by a TCG lab's time scale (run-config.ts): the default budget around them is too, or a
    // readyTimeoutMs of 90 s (×4 = 360 s) outlasts it. An explicit configTimeoutMs is taken as given.
    const timeoutMs = options.configTimeoutMs ?? 300_000 * (opened.host.lab?.timeScale ?? 1);
    const once = () => {
      const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)]);
      return runConfig(unitIndex === config.index ? config : { ...config, index: unitIndex }, scenario, {
        connection: opened.connection,
        run,
        host: opened.host,
        routing,
        shimPath: () => (shim ??= buildNofileShim()),
        signal,
        deadline: Date.now() + timeoutMs,
        log,
        onPhase: (phase) => progress({ kind: 'phase', index: config.index, phase }),
      });
    };
    const first = await once();
    if (!droppedWhileStarting(first, opened.host) || controller.signal.aborted) return first;
    // A lab's forwarded engine connection can drop under a loaded TCG guest before anything ran: run it again, once, and say so.
    progress({ kind: 'message', text: `${config.id}: ${first.reason}; its containers are removed, starting it once more` });
    const again = await once();
    return { ...again, reason: `${again.reason}; started a second time: the first start failed (${first.reason.replace(/^the harness failed: /, '')})` };
  }
}

/** A lab configuration that failed as it started because the forwarded engine connection dropped: nothing ran, nothing was decided. */
export function droppedWhileStarting(result: Pick<ConfigResult, 'verdict' | 'endedBy' | 'reason'>, host: Pick<HostFacts, 'lab'>): boolean {
  return host.lab !== undefined && result.verdict === 'error' && result.endedBy === 'error' && /\b(socket hang up|ECONNRESET|EPIPE)\b.*\(while starting\)$/.test(result.reason);
}

/** One configuration's concurrency over its repeats: each repeat's slot, the most that ran at once. */
function joinConcurrency(runs: readonly ConfigConcurrency[]): ConfigConcurrency {
  const first = runs[0]!;
  return { ...first, slots: runs.flatMap((r) => r.slots), runningAtMost: Math.max(...runs.map((r) => r.runningAtMost)) };
}

const engineLost = (signal: AbortSignal) => signal.aborted && signal.reason instanceof EngineLostError;

/** A configuration the run never started because its engine was lost before it: not run, not a harness error of its own. */
function notReached(config: PlannedConfig, lost: EngineLostError): ConfigResult {
  return undecided(config, 'error', `not run: the run ended before it started, as ${lost.message}`, 'skipped');
}

function undecided(config: PlannedConfig, endedBy: EndedBy, reason: string, verdict: 'skipped' | 'error' = 'error'): ConfigResult {
  return {
    id: config.id,
    axes: config.axes,
    outcome: null,
    verdict,
    reason: verdict === 'skipped' ? reason : `not decided: ${reason}`,
    expected: Object.fromEntries(Object.entries(config.expect).map(([name, e]) => [name, e.outcome])),
    ...becauseOf(config.expect),
    evidence: [],
    metrics: {},
    instances: [],
    emulated: [],
    durationMs: 0,
    endedBy,
    observations: [],
  };
}

/** Whether a configuration switches a host-wide setting: THP by its host, THP or the page cache by a step. */
export function switchesHostSettings(config: PlannedConfig): boolean {
  if (config.skip) return false;
  return config.host?.thp !== undefined || (config.steps ?? []).some((step) => step.action.action === 'thp' || step.action.action === 'drop-caches');
}

/** The host settings that differ between the run's start and its end (its own switches are restored by then). */
export function hostSettingChanges(thpAtStart: string, thpAtEnd: string): HostSettingChange[] {
  return thpAtStart !== thpAtEnd ? [{ setting: 'THP', atStart: thpAtStart, atEnd: thpAtEnd }] : [];
}
