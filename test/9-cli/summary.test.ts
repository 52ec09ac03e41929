// The last lines of `oomlab run`: the verdicts, and for an incident whether production's kill came back.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { RunReport } from '../../src/0-model/index.ts';
import { printSummary } from '../../src/9-cli/commands/summary.ts';

const dba = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'report-incident-dba.json'), 'utf8')) as RunReport;

function printed(report: RunReport): string {
  const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    printSummary(report, 'reports/x');
    return write.mock.calls.map((call) => String(call[0])).join('');
  } finally {
    write.mockRestore();
  }
}

describe('printSummary', () => {
  it("says whether production's kill was reproduced, where a newcomer saw only '3 pass, 0 fail'", () => {
    const text = printed(dba);
    expect(text).toContain('incident-dba: 3 pass, 1 fail, 0 skipped, 0 error\n');
    expect(text).toContain("production's kill: Reproduced by image=oomlab/mariadb:10.11,fix=production,memory=2048m: scope, anon-rss as in production;");
  });

  it('prints no such line for a scenario that was not made from an incident', () => {
    const { signature: _, ...plain } = dba;
    expect(printed(plain as RunReport)).not.toContain("production's kill");
  });
});
