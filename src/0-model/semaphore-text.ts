// The InnoDB semaphore waits of a configuration in words, for report.md and report.html alike: per
// server, where its threads waited (file:line, the latch, the longest wait), or why it cannot list any.
import type { ObservationOf } from './observation.ts';
import type { ConfigResult, SemaphoreSite } from './report.ts';

/** `mutex TRX_POOL`, `X-lock on RW-latch created in buf0buf.cc line 1046`: what a thread waited for. */
export function latchText(request: string | undefined, lock: string | undefined): string | undefined {
  if (request === 'Mutex') return lock ? `mutex ${lock}` : 'a mutex';
  return request && lock ? `${request} on ${lock}` : (lock ?? request);
}

/** `row0ins.cc:3041 ×120 in 25 samples, up to 1000 ms (X-lock on RW-latch created in buf0buf.cc line 1046, waiters flag 1)`. */
export function siteText(site: SemaphoreSite): string {
  const latch = [latchText(site.request, site.lock), site.waitersFlag !== undefined ? `waiters flag ${site.waitersFlag}` : undefined].filter(Boolean);
  return `${site.file}:${site.line} ×${site.waits} in ${site.samples} sample${site.samples === 1 ? '' : 's'}, up to ${site.longestMs} ms${latch.length > 0 ? ` (${latch.join(', ')})` : ''}`;
}

export interface SemaphoreBlock {
  instance: string;
  /** One sentence: the count of waits, that none were seen, or why none can be. */
  heading: string;
  /** One line per place threads waited at, most waits first. */
  sites: string[];
  /** The last SEMAPHORES section with waits, as printed. */
  excerpt?: string;
  /** Nothing to show beyond the heading. */
  quiet: boolean;
}

/** One block per server whose InnoDB status was sampled; empty for reports written before the summary existed. */
export function semaphoreBlocks(config: ConfigResult): SemaphoreBlock[] {
  return Object.entries(config.metrics.semaphores ?? {}).map(([instance, summary]) => {
    const of = `${summary.samples} sample${summary.samples === 1 ? '' : 's'}`;
    const version = summary.version ? ` (${summary.version})` : '';
    if (summary.unavailable) return { instance, heading: summary.unavailable, sites: [], quiet: true };
    if (summary.samplesWithWaits === 0) {
      const why = summary.version ? `${version}: this server lists them when threads wait` : " (the server's version was not read)";
      return { instance, heading: `no semaphore wait in ${of}${why}`, sites: [], quiet: true };
    }
    const last = config.observations.findLast((o): o is ObservationOf<'innodb-status'> => o.kind === 'innodb-status' && o.instance === instance && o.semaphoreWaits.length > 0);
    return {
      instance,
      heading: `${summary.waits} semaphore waits in ${summary.samplesWithWaits} of ${of}${version}; the server counts a wait in whole seconds`,
      sites: summary.sites.map(siteText),
      ...(last ? { excerpt: last.excerpt } : {}),
      quiet: false,
    };
  });
}
