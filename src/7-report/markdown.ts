import { formatBytes } from '../0-model/units.ts';
import { exploreSummary, isExplore, rankByHeadroom } from '../0-model/explore.ts';
import { isEmulatedValue, MEMORY_MODEL_DOC, peakMemoryText, predictedText, predictionLegend } from '../0-model/figures.ts';
import { marginText, repeatsSummary, repeatText, VERDICT_MARK } from './repeats.ts';
import { answerOf, configTag, skipLine } from '../0-model/answer.ts';
import { answerMarkdown } from './answer-markdown.ts';
import { cancelledCount, outcomeWords, verdictWords } from '../0-model/verdict-words.ts';
import type { ConfigResult, RunReport } from '../0-model/report.ts';
import { cellText, fileTableText, splitRanRows, versionView } from '../0-model/version-view.ts';
import { semaphoreMarkdown } from './semaphores.ts';
import { signatureMarkdown } from './signature.ts';
import { overridesText } from '../0-model/set-values.ts';
import { shardLines } from '../0-model/shards.ts';
import { labHostLine } from '../0-model/host.ts';
import { procNofileText } from '../0-model/proc-nofile.ts';
import { numaFreeMinimaText } from './numa-free.ts';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The verdict in words, with the repeats' marks when it ran several times. */
function verdictCell(config: ConfigResult, regressed: boolean): string {
  const mark = VERDICT_MARK[config.verdict].split(' ')[0];
  return `${mark} ${verdictWords(config)}${regressed ? ' 📉 regressed' : ''}${config.repeats ? `<br>${repeatsSummary(config)}` : ''}`;
}

/** Side by side, one row per configuration that ran: a table a pull request or an incident ticket can carry. */
export function renderMarkdown(report: RunReport): string {
  const answer = answerOf(report);
  const allAxes = Object.keys(report.configs[0]?.axes ?? {});
  const varying = allAxes.filter((axis) => new Set(report.configs.map((c) => String(c.axes[axis]))).size > 1);
  const axes = varying.length > 0 ? varying : allAxes;
  const sameForAll = allAxes.filter((axis) => !axes.includes(axis));
  const lines: string[] = [];
  lines.push(`# oomlab: ${report.scenario}`, '');
  lines.push(`**Incident:** ${report.incident}`, '');
  const setLine = overridesText(report);
  if (setLine) lines.push(`**Set from the command line:** ${setLine}. Values the file does not list are marked (--set) wherever a configuration is named.`, '');
  lines.push(...signatureMarkdown(report));
  if (report.endedBy !== 'done') lines.push(`⚠️ The run ended by **${report.endedBy}**${report.error ? `: ${report.error}` : ''}.`, '');
  lines.push(...answerMarkdown(report, answer));
  if (isExplore(report)) {
    lines.push(`**Explore** (the scenario has no \`expect\`): ${exploreSummary(report)}.`, '');
    lines.push('| rank | configuration | outcome | peak memory | headroom |', '|---|---|---|---|---|');
    rankByHeadroom(report).forEach((r, i) => {
      const cells = [String(i + 1), r.label, r.config.outcome ?? r.config.verdict, peakMemoryText(r.config.metrics) ?? '', r.headroomBytes !== undefined ? formatBytes(r.headroomBytes) : '—'];
      lines.push(`| ${cells.map(cell).join(' | ')} |`);
    });
    lines.push('');
  }
  for (const change of report.hostChanges ?? []) {
    lines.push(
      `**${change.setting} changed during the run**: ${change.atStart} at its start, ${change.atEnd} at its end — another run or a person switched it, so configurations on either side of the switch ran on different hosts.`,
      '',
    );
  }
  const regressed = new Map<string, string[]>();
  for (const r of report.baseline?.regressions ?? []) regressed.set(r.configId, [...(regressed.get(r.configId) ?? []), `${r.what} ${r.before} → ${r.after}`]);
  const ranConfigs = report.configs.filter((c) => c.verdict !== 'skipped');
  // Load columns only when a workload ran: a start-up scenario keeps its table narrow.
  const withLoad = report.configs.some((c) => c.metrics.latencyMs !== undefined);
  const withRatio = report.configs.some((c) => c.metrics.connectionRatio !== undefined);
  const withFiles = report.configs.some((c) => c.metrics.openFilesLimit !== undefined);
  const loadHeaders = [...(withLoad ? ['peak connections', 'p99 latency', 'errors by code'] : []), ...(withRatio ? ['B:A connections'] : [])];
  // Where each configuration ran, when the scenario put them on several hosts, and the nofile the server really had there.
  const withRanOn = report.configs.some((c) => c.ranOn !== undefined);
  const withProc = (withFiles || withRanOn) && report.configs.some((c) => procNofileText(c.observations) !== undefined);
  const headers = [
    '#',
    ...axes,
    ...(withRanOn ? ['ran on'] : []),
    'outcome',
    'verdict',
    'peak memory',
    ...(withFiles ? ['@@open_files_limit'] : []),
    ...(withProc ? ['nofile in /proc (soft / hard)'] : []),
    ...loadHeaders,
  ];
  const counts = report.summary;
  const cancelled = cancelledCount(report.configs);
  lines.push(
    '## Verdicts',
    '',
    `**${counts.pass} as expected, ${counts.fail} not as expected${counts.flaky ? `, ${counts.flaky} flaky` : ''}, ${counts.error - cancelled} could not decide (harness error)${cancelled ? `, ${cancelled} cancelled` : ''}, ${counts.skipped} not run**` +
      (report.configs.some((c) => c.repeats) ? ` · each configuration run ${Math.max(...report.configs.map((c) => c.repeats?.length ?? 1))} times` : ''),
    '',
  );
  if (sameForAll.length > 0) lines.push(`Every configuration: ${sameForAll.map((axis) => `${axis}=\`${report.configs[0]!.axes[axis]}\``).join(' · ')}.`, '');
  if (ranConfigs.length > 0) {
    lines.push(`| ${headers.join(' | ')} |`);
    lines.push(`|${headers.map(() => '---').join('|')}|`);
  }
  for (const config of ranConfigs) {
    const axisCells = axes.map((axis) => {
      const value = String(config.axes[axis]);
      return isEmulatedValue(config, value) ? `${value}*` : value;
    });
    const m = config.metrics;
    const peak = peakMemoryText(m) ?? '';
    const predicted = predictedText(m) ?? '';
    const errors = Object.entries(m.errorsByCode ?? {})
      .sort((a, b) => b[1] - a[1])
      .map(([code, n]) => `${code}: ${n}`)
      .join(', ');
    const loadCells = [
      ...(withLoad ? [m.peakConnections !== undefined ? String(m.peakConnections) : '', m.latencyMs ? `${m.latencyMs.p99} ms` : '', errors] : []),
      ...(withRatio ? [m.connectionRatio !== undefined ? `${m.connectionRatio.toFixed(1)}:1` : ''] : []),
    ];
    lines.push(
      `| ${[
        configTag(report, config),
        ...axisCells,
        ...(withRanOn ? [config.ranOn ?? ''] : []),
        config.outcome ? outcomeWords(config.outcome) : '—',
        verdictCell(config, regressed.has(config.id)),
        [peak, predicted].filter(Boolean).join('<br>'),
        ...(withFiles ? [config.metrics.openFilesLimit !== undefined ? String(config.metrics.openFilesLimit) : ''] : []),
        ...(withProc ? [procNofileText(config.observations) ?? ''] : []),
        ...loadCells,
      ]
        .map(cell)
        .join(' | ')} |`,
    );
  }
  if (ranConfigs.length > 0) lines.push('');
  // The model's figures are defined where they first appear.
  const legend = predictionLegend(ranConfigs.map((c) => c.metrics));
  if (legend.length > 0) lines.push(`Peak memory: ${legend.map((l) => `**${l.term}**: ${l.meaning}`).join('; ')} (${MEMORY_MODEL_DOC}).`, '');
  // Configurations that did not run: one line per reason, with how many and what to do.
  for (const group of answer.skipped) lines.push(`⏭ **Not run:** ${skipLine(group)}`, '');
  if (report.emulated.length > 0) lines.push(`* nofile above ${report.host.nofileHardLimit} is **emulated** (getrlimit shim) where marked *.`, '');
  // Side by side is part of how the figures were taken: said once, each configuration's own concurrency is in report.json.
  const atOnce = Math.max(1, ...ranConfigs.map((c) => c.concurrency?.runningAtMost ?? 1));
  if (atOnce > 1)
    lines.push(`Up to ${atOnce} configurations ran at once (--jobs ${report.jobs?.jobs ?? atOnce}, ${report.jobs?.source === 'option' ? 'as asked' : 'the default'}: ${report.jobs?.why ?? ''}).`, '');
  if (report.baseline) {
    const b = report.baseline;
    lines.push('', `## Against the baseline (run \`${b.baselineRunId}\`)`, '');
    if (b.regressions.length === 0) lines.push(`No regression in ${b.compared} configurations compared.`);
    for (const r of b.regressions) lines.push(`- 📉 \`${r.configId}\`: ${r.what} ${r.before} → ${r.after}`);
  }
  const failed = report.configs.filter((c) => c.verdict === 'fail' || c.verdict === 'error');
  if (failed.length > 0) {
    lines.push('', '## Not as expected, or not decided', '');
    for (const config of failed) lines.push(`- \`${config.id}\`: ${config.reason}`);
  }
  // Neither passed nor failed: apart from both, with what each repeat measured.
  const flaky = report.configs.filter((c) => c.verdict === 'flaky');
  if (flaky.length > 0) {
    lines.push('', '## Flaky: the repeats disagreed', '');
    for (const config of flaky) {
      lines.push(`- \`${config.id}\`: ${config.reason}`);
      for (const run of config.repeats ?? []) lines.push(`  - ${repeatText(run)}`);
    }
  }
  lines.push(...stepTables(report));
  const upgrade = upgradeView(report);
  if (upgrade.length > 0) lines.push('', ...upgrade);
  lines.push('', ...runDetails(report));
  const numaFree = new Map(report.configs.map((c) => [c, numaFreeMinimaText(c)]));
  const decided = report.configs.filter((c) => c.evidence.length > 0 || numaFree.get(c) !== undefined);
  if (decided.length > 0) {
    lines.push('', '## Evidence', '');
    for (const config of decided) {
      lines.push(`<details><summary>${configTag(report, config)} <code>${config.id}</code> — ${config.outcome} (${config.verdict})</summary>`, '', '```');
      for (const evidence of config.evidence) lines.push(`${evidence.source}: ${evidence.text}`);
      lines.push('```', '');
      const byReplica = Object.entries(config.metrics.byReplica ?? {});
      if (byReplica.length > 0) {
        const describe = ([name, r]: (typeof byReplica)[number]) =>
          `${name} ${r.requests} requests, ${r.errors} errors${
            r.errors > 0
              ? ` (${Object.entries(r.errorsByCode)
                  .map(([code, n]) => `${code}: ${n}`)
                  .join(', ')})`
              : ''
          }`;
        lines.push(`Through the app tier: ${byReplica.map(describe).join('; ')}.`, '');
      }
      const lowestFree = numaFree.get(config);
      if (lowestFree) lines.push(`Lowest free memory per NUMA node over the run (host-wide MemFree): ${lowestFree}.`, '');
      if (config.expectations?.length) {
        lines.push('What the load had to show:', '');
        for (const e of config.expectations) lines.push(`- ${e.met ? '✅' : '❌'} ${e.line}${e.met ? '' : ` — expected ${e.expected}`} (${e.source}${e.because ? `: ${e.because}` : ''})`);
        lines.push('');
      }
      if (config.margins?.length) {
        lines.push('How close it came to the other verdict:', '');
        for (const m of config.margins) lines.push(`- ${marginText(m)}`);
        lines.push('');
      }
      if (config.repeats?.length && config.verdict !== 'flaky') {
        lines.push('Repeats:', '');
        for (const run of config.repeats) lines.push(`- ${repeatText(run)}`);
        lines.push('');
      }
      lines.push(...semaphoreMarkdown(config));
      lines.push('</details>', '');
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The run and the host, folded: what a reader checks after the answer, not before. */
function runDetails(report: RunReport): string[] {
  const lines = ['<details><summary>Run, host and load driver</summary>', ''];
  lines.push(
    `Run \`${report.runId}\` · ${report.startedAt} · ${Math.round(report.durationMs / 1000)}s · \`${report.scenarioFile}\`` +
      ` · ${report.summary.pass} pass, ${report.summary.fail} fail, ${report.summary.skipped} skipped, ${report.summary.error} error${report.summary.flaky ? `, ${report.summary.flaky} flaky` : ''} (report.json's verdicts)`,
    '',
  );
  lines.push(
    `Host: kernel ${report.host.kernel}, cgroup v${report.host.cgroupVersion}, ${report.host.numaNodes} NUMA node(s), THP ${report.host.thpMode}, nofile ceiling ${report.host.nofileHardLimit}.`,
    '',
  );
  if (report.labs) for (const lab of report.labs) lines.push(`Ran in a ${labHostLine(lab)} (${lab.accelWhy}).`, '');
  else if (report.host.lab) lines.push(`Ran in a ${labHostLine(report.host.lab)} (${report.host.lab.accelWhy}).`, '');
  for (const line of shardLines(report)) lines.push(line, '');
  const overrides = overridesText(report);
  if (overrides) lines.push(`Set from the command line: ${overrides}.`, '');
  const drivers = [...new Set(report.configs.map((c) => c.metrics.driver).filter(Boolean))];
  if (drivers.length > 0) lines.push(`Load driver: ${drivers.join(', ')}.`, '');
  lines.push('</details>', '');
  return lines;
}

/** Per configuration with a chaos timeline: every phase of every step, in time order. */
function stepTables(report: RunReport): string[] {
  const lines: string[] = [];
  for (const config of report.configs) {
    const steps = config.observations.filter((o) => o.kind === 'step').sort((a, b) => a.t - b.t);
    if (steps.length === 0) continue;
    if (lines.length === 0) lines.push('', '## Timeline', '');
    lines.push(`### \`${config.id}\``, '', '| time | step | action | instance | phase | detail |', '|---|---|---|---|---|---|');
    // The kernel's kills among the steps: a newcomer's timeline showed neighbours starting after the server had died.
    const kills = config.observations.filter((o) => o.kind === 'kernel-oom');
    // Steps never run are one row: a newcomer's report was 600 rows of "not run" (205 neighbours × 3 configurations).
    const skipped = steps.filter((o) => o.phase === 'skipped');
    for (const o of [...steps.filter((step) => step.phase !== 'skipped'), ...kills].sort((a, b) => a.t - b.t)) {
      const time = `${(o.t / 1000).toFixed(1)} s`;
      if (o.kind === 'kernel-oom') {
        lines.push(`| ${[time, o.step ?? '—', 'kernel OOM kill', o.instance, '**killed**', o.line].map(cell).join(' | ')} |`);
        continue;
      }
      const phase = o.phase === 'failed' || o.phase === 'timeout' ? `**${o.phase}**` : o.phase;
      const detail = o.output ? `${o.detail}: ${o.output}` : o.detail;
      lines.push(`| ${[time, o.step, o.action, o.instance ?? '—', phase, detail].map(cell).join(' | ')} |`);
    }
    if (skipped.length === 1) {
      const [o] = skipped;
      lines.push(`| ${[`${(o!.t / 1000).toFixed(1)} s`, o!.step, o!.action, o!.instance ?? '—', 'skipped', o!.detail].map(cell).join(' | ')} |`);
    } else if (skipped.length > 1) {
      const names = skipped.length > 4 ? `${skipped[0]!.step}, ${skipped[1]!.step} … ${skipped.at(-1)!.step}` : skipped.map((o) => o.step).join(', ');
      const actions = [...new Set(skipped.map((o) => o.action))].join(', ');
      lines.push(
        `| ${[`${(skipped[0]!.t / 1000).toFixed(1)} s`, `${skipped.length} steps: ${names}`, actions, '—', 'skipped', 'not run: the configuration ended before their triggers'].map(cell).join(' | ')} |`,
      );
    }
    lines.push('');
  }
  return lines;
}

/**
 * The upgrade review: the ticket lines first, then one row per configuration and one column per server that
 * ran (a handful), so the table stays narrow however many configurations the scenario has.
 */
function upgradeView(report: RunReport): string[] {
  const view = versionView(report);
  if (!view) return [];
  const { rows, notRun } = splitRanRows(view.rows);
  const withProbe = rows.some((r) => r.fileTable);
  const mark = (config: ConfigResult | undefined) => (config && config.verdict !== 'skipped' ? `${VERDICT_MARK[config.verdict].split(' ')[0]} ` : '');
  const label = (axes: Record<string, unknown>) =>
    Object.entries(axes)
      .map(([axis, value]) => `${axis}=${value}`)
      .join(' ');
  const headers = ['configuration', ...rows.map((row) => row.image)];
  return [
    '## Upgrade view',
    '',
    'For a change ticket:',
    '',
    ...rows.map((row) => `- ${row.line}`),
    ...(notRun.length > 0 ? [`- Not run here: ${notRun.map((row) => row.image).join(', ')} (why and what to do: under Verdicts).`] : []),
    '',
    'One row per configuration, one column per server: the verdict and outcome with its peak memory.',
    '',
    `| ${headers.map(cell).join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...(withProbe ? [`| ${['file table (probe)', ...rows.map((row) => (row.fileTable ? fileTableText(row.fileTable) : '—'))].map(cell).join(' | ')} |`] : []),
    ...view.columns.map((column, i) => `| ${[label(column.axes), ...rows.map((row) => `${mark(row.cells[i])}${cellText(row.cells[i])}`)].map(cell).join(' | ')} |`),
    '',
  ];
}
