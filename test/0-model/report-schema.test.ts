import { messageOf } from './parse-message.ts';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { issuePath, parseReport } from '../../src/0-model/parse-report.ts';
import type { RunReport } from '../../src/0-model/report.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures');
// Version 1, read as written; the version-2 fixture is read in test/7-report/report-versions.test.ts.
const reportFixtures = readdirSync(FIXTURES).filter((f) => /^report-.*\.json$/.test(f) && JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')).schemaVersion === 1);
const nofile = readFileSync(join(FIXTURES, 'report-nofile-oom.json'), 'utf8');

/** The nofile-oom fixture with one edit, as text: what a hand-edited or truncated report looks like. */
function edited(edit: (report: Record<string, any>) => void): string {
  const report = JSON.parse(nofile) as Record<string, any>;
  edit(report);
  return JSON.stringify(report);
}

describe('report.json schema', () => {
  it.each(reportFixtures)('reads the captured version-1 report %s', (file) => {
    const text = readFileSync(join(FIXTURES, file), 'utf8');
    const report = parseReport(text, file);
    // Returned as written: nothing dropped or defaulted.
    expect(report).toEqual(JSON.parse(text));
  });

  it('keeps a field it does not know, so a rewrite (oomlab report --baseline) does not lose it', () => {
    const report = parseReport(
      edited((r) => (r.configs[0].note = 'added by a later oomlab')),
      'x.json',
    ) as RunReport & { configs: { note?: string }[] };
    expect(report.configs[0]!.note).toBe('added by a later oomlab');
  });

  it('says in one line what is wrong with a file that is not a report', () => {
    // The parser's own words differ between Node versions (22 and 24 add ` (line 1 column 2)`).
    expect(messageOf('{')).toMatch(/^run\/report.json is not JSON \(Expected property name or '}' in JSON at position 1(?: \(line 1 column 2\))?\) — give the report.json an oomlab run wrote$/);
    expect(messageOf('peak was fine\nreally')).toMatch(/^run\/report.json is not JSON \(Unexpected token 'p', "peak was fine really" is not valid JSON\) — give the report.json an oomlab run wrote$/);
    expect(messageOf('{"hello": 1}')).toBe('run/report.json is not an oomlab report (no schemaVersion, scenario and configs) — give the report.json an oomlab run wrote');
    expect(messageOf('[]')).toBe('run/report.json is not an oomlab report (no schemaVersion, scenario and configs) — give the report.json an oomlab run wrote');
    expect(messageOf(edited((r) => (r.schemaVersion = 3)))).toBe('run/report.json has schemaVersion 3, newer than this oomlab reads (2) — update oomlab');
  });

  it('names the path and the value of a field of the wrong type', () => {
    const wrong = (edit: (report: Record<string, any>) => void) =>
      messageOf(edited(edit)).replace(/^run\/report.json is not a valid oomlab report: (.*) — give the report.json an oomlab run wrote, unedited$/, '$1');
    expect(wrong((r) => (r.configs[3].verdict = 'passed'))).toBe('configs[3].verdict: expected one of pass, fail, skipped, error, flaky, got "passed"');
    expect(wrong((r) => (r.configs[3].durationMs = '1200'))).toBe('configs[3].durationMs: expected number, got "1200"');
    expect(wrong((r) => delete r.configs[3].axes)).toBe('configs[3].axes: expected record, got nothing');
    expect(wrong((r) => (r.configs[3].observations[0].kind = 'oom'))).toBe(
      'configs[3].observations[0].kind: expected one of docker-event, container-state, kernel-oom, limit, memory-peak, server-variables, readiness, syscall, server-log, nofile, observer-unavailable, innodb-status, workload, warm-up, step, sample, got "oom"',
    );
    expect(wrong((r) => (r.host.cgroupVersion = 3))).toBe('host.cgroupVersion: expected one of 1, 2, got 3');
    expect(wrong((r) => (r.configs[0].evidence = [{ source: 'kernel', text: 'x'.repeat(100) }, { source: 'kernel' }]))).toBe('configs[0].evidence[1].text: expected string, got nothing');
    expect(wrong((r) => (r.summary = 'all passed, trust me, nothing to see in this report'))).toBe('summary: expected object, got "all passed, trust me, nothing to see in…');
  });

  it('writes a path as code reads it', () => {
    expect(issuePath(['configs', 3, 'verdict'])).toBe('configs[3].verdict');
    expect(issuePath(['configs', 0, 'metrics', 'byReplica', 'b', 'requests'])).toBe('configs[0].metrics.byReplica.b.requests');
    expect(issuePath([])).toBe('(the top level)');
  });
});
