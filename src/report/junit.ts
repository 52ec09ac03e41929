import type { RunReport } from '../run/types.ts';

function xml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

/** One test case per configuration; skipped ones as skipped, failures and errors carry the evidence. */
export function renderJunit(report: RunReport): string {
  const cases = report.configs.map((config) => {
    const time = (config.durationMs / 1000).toFixed(3);
    const head = `    <testcase classname="oomlab.${xml(report.scenario)}" name="${xml(config.id)}" time="${time}"`;
    const evidence = xml(config.evidence.map((e) => `${e.source}: ${e.text}`).join('\n'));
    switch (config.verdict) {
      case 'pass':
        return `${head}>\n      <system-out>${evidence}</system-out>\n    </testcase>`;
      case 'skipped':
        return `${head}>\n      <skipped message="${xml(config.reason)}"/>\n    </testcase>`;
      case 'fail':
        return `${head}>\n      <failure message="${xml(config.reason)}" type="expectation">${evidence}</failure>\n    </testcase>`;
      case 'error':
        return `${head}>\n      <error message="${xml(config.reason)}" type="${config.endedBy}">${evidence}</error>\n    </testcase>`;
    }
  });
  const { pass, fail, skipped, error } = report.summary;
  const total = pass + fail + skipped + error;
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
