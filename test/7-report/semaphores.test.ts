import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseInnodbStatus } from '../../src/4-observe/innodb-status.ts';
import { summariseSemaphores } from '../../src/6-judge/index.ts';
import { renderHtml, renderMarkdown } from '../../src/7-report/index.ts';
import type { Observation } from '../../src/0-model/observation.ts';
import type { RunReport } from '../../src/0-model/report.ts';

const text = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const MARIADB_105 = '10.5.23-MariaDB-0+deb11u1';
const MARIADB_1011 = '10.11.18-MariaDB-0+deb12u1';

function sample(name: string, version: string, t: number, instance: string): Observation {
  const status = parseInnodbStatus(text(name));
  return { kind: 'innodb-status', t, instance, semaphoreWaits: status.semaphoreWaits, excerpt: status.semaphoresExcerpt, version };
}

/**
 * The real scraping-burst report with its first configuration's samples replaced: replica a on
 * MariaDB 10.5 (the captured storm, twice), b on 10.11 (empty sections), as a run of today records them.
 */
function report(): RunReport {
  const base = JSON.parse(text('report-scraping-burst.json')) as RunReport;
  const config = base.configs[0]!;
  const a = [sample('innodb-status-mariadb-10.5-under-storm.txt', MARIADB_105, 5_000, 'a'), sample('innodb-status-mariadb-10.5-under-storm.txt', MARIADB_105, 6_000, 'a')];
  const b = [sample('innodb-status-mariadb-10.11-under-storm.txt', MARIADB_1011, 5_000, 'b')];
  config.observations = [...config.observations.filter((o) => o.kind !== 'innodb-status'), ...a, ...b];
  config.metrics.semaphores = { a: summariseSemaphores(a)!, b: summariseSemaphores(b)! };
  return { ...base, configs: [config] };
}

describe('InnoDB semaphores in report.md', () => {
  const md = renderMarkdown(report());

  it('counts the waits of a server that lists them and names each place with file:line and the longest wait', () => {
    expect(md).toContain(`InnoDB semaphores on a: 94 semaphore waits in 2 of 2 samples (${MARIADB_105}); the server counts a wait in whole seconds.`);
    expect(md).toContain('- `row0sel.cc:3597` ×28 in 2 samples, up to 0 ms (S-lock on RW-latch created in buf0buf.cc line 1046, waiters flag 1)');
    expect(md).toContain('Last SEMAPHORES section with waits on a:\n\n```\nOS WAIT ARRAY INFO: reservation count 3371\n--Thread 139621761918720 has waited at row0ins.cc line 3041');
  });

  it('says why a MariaDB 10.6+ server shows none, from its version', () => {
    expect(md).toContain(`InnoDB semaphores on b: MariaDB 10.6+ prints no semaphore waits in SHOW ENGINE INNODB STATUS (the wait array was removed): none can be shown here (${MARIADB_1011}).`);
    expect(md).not.toContain('InnoDB SEMAPHORES section: empty');
  });
});

describe('InnoDB semaphores in the report.html evidence panel', () => {
  const html = renderHtml(report());
  const panel = html.slice(html.indexOf('<h4>InnoDB semaphores</h4>'), html.indexOf('<h4>Server log tail</h4>'));

  it('shows each server: the waits by place and the last section for a, the reason for b', () => {
    expect(panel).toContain(
      `<p class="instance">a</p><p>94 semaphore waits in 2 of 2 samples (${MARIADB_105}); the server counts a wait in whole seconds</p><pre>row0sel.cc:3597 ×28 in 2 samples, up to 0 ms (S-lock on RW-latch created in buf0buf.cc line 1046, waiters flag 1)\n`,
    );
    expect(panel).toContain('<pre>OS WAIT ARRAY INFO: reservation count 3371\n--Thread 139621761918720 has waited at row0ins.cc line 3041');
    expect(panel).toContain(
      `<p class="instance">b</p><p class="none">MariaDB 10.6+ prints no semaphore waits in SHOW ENGINE INNODB STATUS (the wait array was removed): none can be shown here (${MARIADB_1011})</p>`,
    );
  });
});
