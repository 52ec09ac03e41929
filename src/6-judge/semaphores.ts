// What a server's SHOW ENGINE INNODB STATUS samples add up to: where its threads waited on InnoDB
// latches (incident 2's `--Thread … has waited at buf0buf.c line 2766`), or why it cannot say.
import { semaphoreWaitsUnavailable, type Observation, type ObservationOf } from '../4-observe/index.ts';
import type { Evidence } from '../0-model/judgement.ts';
import type { SemaphoreSite, SemaphoreSummary } from '../0-model/report.ts';
import { siteText } from '../0-model/semaphore-text.ts';

/** Sites kept per server: the few places a burst piles up on, not every line a thread ever waited at. */
export const SEMAPHORE_SITES = 10;

/** The summary of one server's samples; undefined where none was read (no workload, or never answered). */
export function summariseSemaphores(observations: readonly Observation[]): SemaphoreSummary | undefined {
  const statuses = observations.filter((o): o is ObservationOf<'innodb-status'> => o.kind === 'innodb-status');
  if (statuses.length === 0) return undefined;
  const version = statuses.findLast((s) => s.version)?.version;
  const unavailable = version ? semaphoreWaitsUnavailable(version) : undefined;
  const sites = new Map<string, SemaphoreSite & { seenIn: Set<number> }>();
  statuses.forEach((status, index) => {
    for (const wait of status.semaphoreWaits) {
      const key = [wait.file, wait.line, wait.request, wait.lock].join('\u0000');
      const site = sites.get(key) ?? {
        file: wait.file,
        line: wait.line,
        ...(wait.request ? { request: wait.request } : {}),
        ...(wait.lock ? { lock: wait.lock } : {}),
        waits: 0,
        samples: 0,
        longestMs: 0,
        seenIn: new Set<number>(),
      };
      site.waits++;
      site.seenIn.add(index);
      site.longestMs = Math.max(site.longestMs, Math.round(wait.seconds * 1000));
      if (wait.waitersFlag !== undefined) site.waitersFlag = Math.max(site.waitersFlag ?? 0, wait.waitersFlag);
      sites.set(key, site);
    }
  });
  const ranked = [...sites.values()].map(({ seenIn, ...site }) => ({ ...site, samples: seenIn.size })).sort((a, b) => b.waits - a.waits || a.file.localeCompare(b.file) || a.line - b.line);
  return {
    ...(version ? { version } : {}),
    samples: statuses.length,
    samplesWithWaits: statuses.filter((s) => s.semaphoreWaits.length > 0).length,
    waits: ranked.reduce((sum, site) => sum + site.waits, 0),
    sites: ranked.slice(0, SEMAPHORE_SITES),
    ...(unavailable ? { unavailable } : {}),
  };
}

/** One evidence line: the waits found and where, that none were found, or why none can be. */
export function semaphoreEvidence(summary: SemaphoreSummary | undefined): Evidence | undefined {
  if (!summary) return undefined;
  const source = 'innodb-status';
  if (summary.unavailable) return { source, text: summary.unavailable };
  const of = `${summary.samples} sample${summary.samples === 1 ? '' : 's'} of SHOW ENGINE INNODB STATUS${summary.version ? ` (${summary.version})` : ''}`;
  if (summary.samplesWithWaits === 0) return { source, text: `no semaphore wait in ${of}` };
  return { source, text: `${summary.waits} semaphore waits in ${summary.samplesWithWaits} of ${of}: ${summary.sites.slice(0, 3).map(siteText).join('; ')}` };
}
