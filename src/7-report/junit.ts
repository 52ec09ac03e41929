import type { RunReport } from '../0-model/report.ts';
import { repeatText } from './repeats.ts';

function xml(text: string): string {
  return (
    text
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
  );
}

/** One test case per configuration; skipped ones as skipped, failures and errors carry the evidence. */
export function renderJunit(report: RunReport): string {
  const regressions = new Map<string, string[]>();
  for (const r of report.baseline?.regressions ?? []) regressions.set(r.configId, [...(regressions.get(r.configId) ?? []), `${r.what} ${r.before} -> ${r.after}`]);
  let regressedPasses = 0;
  const cases = report.configs.map((config) => {
    const time = (config.durationMs / 1000).toFixed(3);
    const head = `    <testcase classname="oomlab.${xml(report.scenario)}" name="${xml(config.id)}" time="${time}"`;
    const evidence = xml(config.evidence.map((e) => `${e.source}: ${e.text}`).join('\n'));
    switch (config.verdict) {
      case 'pass': {
        const regressed = regressions.get(config.id);
        // A CI dashboard turns red on a regression against the baseline, not only on a failed expectation.
        if (regressed) {
          regressedPasses++;
          return `${head}>\n      <failure message="${xml(`regressed against baseline ${report.baseline!.baselineRunId}: ${regressed.join('; ')}`)}" type="regression">${evidence}</failure>\n    </testcase>`;
        }
        return `${head}>\n      <system-out>${evidence}</system-out>\n    </testcase>`;
      }
      case 'skipped':
        return `${head}>\n      <skipped message="${xml(config.reason)}"/>\n    </testcase>`;
      case 'fail':
        return `${head}>\n      <failure message="${xml(config.reason)}" type="expectation">${evidence}</failure>\n    </testcase>`;
      case 'flaky': {
        // A plain <failure>, not Surefire's <flakyFailure>: Jenkins reads that as a pass that needed reruns
        // and GitLab and the GitHub reporters ignore it, so the case would show green while the run exits 1.
        const repeats = xml((config.repeats ?? []).map(repeatText).join('\n'));
        return `${head}>\n      <failure message="${xml(config.reason)}" type="flaky">${repeats}</failure>\n      <system-out>${evidence}</system-out>\n    </testcase>`;
      }
      case 'error':
        return `${head}>\n      <error message="${xml(config.reason)}" type="${config.endedBy}">${evidence}</error>\n    </testcase>`;
    }
  });
  const { pass, skipped, error } = report.summary;
  const flaky = report.summary.flaky ?? 0;
  const fail = report.summary.fail + flaky + regressedPasses;
  const total = pass + report.summary.fail + flaky + skipped + error;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="oomlab" tests="${total}" failures="${fail}" errors="${error}" skipped="${skipped}" time="${(report.durationMs / 1000).toFixed(3)}">`,
    `  <testsuite name="${xml(report.scenario)}" tests="${total}" failures="${fail}" errors="${error}" skipped="${skipped}" timestamp="${report.startedAt.replace(/\.\d+Z$/, '')}" time="${(report.durationMs / 1000).toFixed(3)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
