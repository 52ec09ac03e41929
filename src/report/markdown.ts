import { formatBytes } from '../judge/index.ts';
import type { ConfigResult, RunReport } from '../run/types.ts';

const VERDICT_MARK: Record<ConfigResult['verdict'], string> = { pass: '✅ pass', fail: '❌ fail', skipped: '⏭ skipped', error: '⚠️ error' };

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function decidingEvidence(config: ConfigResult): string {
  if (config.verdict === 'skipped' || config.verdict === 'error') return config.reason;
  return config.evidence[0]?.text ?? '';
}

/** Side by side, one row per configuration: a table a pull request or an incident ticket can carry. */
export function renderMarkdown(report: RunReport): string {
  const axes = Object.keys(report.configs[0]?.axes ?? {});
  const emulatedIds = new Set(report.emulated.map((e) => e.configId));
  const lines: string[] = [];
  lines.push(`# oomlab: ${report.scenario}`, '');
  lines.push(`**Incident:** ${report.incident}`, '');
  lines.push(
    `Run \`${report.runId}\` · ${report.startedAt} · ${Math.round(report.durationMs / 1000)}s · ` +
      `**${report.summary.pass} pass, ${report.summary.fail} fail, ${report.summary.skipped} skipped, ${report.summary.error} error**` +
      (report.endedBy !== 'done' ? ` · run ended by **${report.endedBy}**${report.error ? `: ${report.error}` : ''}` : ''),
    '',
  );
  lines.push(
    `Host: kernel ${report.host.kernel}, cgroup v${report.host.cgroupVersion}, ${report.host.numaNodes} NUMA node(s), THP ${report.host.thpMode}, nofile ceiling ${report.host.nofileHardLimit}.` +
      (report.emulated.length > 0 ? ` nofile above ${report.host.nofileHardLimit} is **emulated** (getrlimit shim) where marked *.` : ''),
    '',
  );
  lines.push(`| ${[...axes, 'expected', 'outcome', 'verdict', 'open_files_limit', 'peak memory', 'evidence'].join(' | ')} |`);
  lines.push(`|${[...axes, 1, 2, 3, 4, 5, 6].map(() => '---').join('|')}|`);
  for (const config of report.configs) {
    const axisCells = axes.map((axis) => {
      const value = String(config.axes[axis]);
      return axis === 'nofile' && emulatedIds.has(config.id) ? `${value}*` : value;
    });
    const peak = config.metrics.peakMemoryBytes !== undefined
      ? `${formatBytes(config.metrics.peakMemoryBytes)}${config.metrics.memoryLimitBytes ? ` / ${formatBytes(config.metrics.memoryLimitBytes)}` : ''}`
      : '';
    lines.push(
      `| ${[
        ...axisCells,
        Object.values(config.expected).join(', '),
        config.outcome ?? '—',
        VERDICT_MARK[config.verdict],
        config.metrics.openFilesLimit !== undefined ? String(config.metrics.openFilesLimit) : '',
        peak,
        decidingEvidence(config),
      ].map(cell).join(' | ')} |`,
    );
  }
  const failed = report.configs.filter((c) => c.verdict === 'fail' || c.verdict === 'error');
  if (failed.length > 0) {
    lines.push('', '## Not as expected', '');
    for (const config of failed) lines.push(`- \`${config.id}\`: ${config.reason}`);
  }
  const decided = report.configs.filter((c) => c.evidence.length > 0);
  if (decided.length > 0) {
    lines.push('', '## Evidence', '');
    for (const config of decided) {
      lines.push(`<details><summary><code>${config.id}</code> — ${config.outcome} (${config.verdict})</summary>`, '', '```');
      for (const evidence of config.evidence) lines.push(`${evidence.source}: ${evidence.text}`);
      lines.push('```', '', '</details>', '');
    }
  }
  return `${lines.join('\n')}\n`;
}
