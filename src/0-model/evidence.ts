import type { Evidence } from './judgement.ts';
import type { StormResult } from './workload-result.ts';
import type { ObservationOf, PerKind } from './observation.ts';
import { latchText } from './semaphore-text.ts';
import { formatBytes } from './units.ts';

/** One line of evidence per observation kind; the mapped type makes every kind say something. */
export const EVIDENCE: PerKind<Evidence | undefined> = {
  'docker-event': (o) => ({ source: 'docker-event', text: `${o.action}${o.exitCode !== undefined ? ` exitCode=${o.exitCode}` : ''}` }),
  'container-state': (o) => ({ source: 'docker-inspect', text: `State.Status=${o.status} OOMKilled=${o.oomKilled} ExitCode=${o.exitCode}` }),
  'kernel-oom': (o) => ({ source: 'kernel', text: o.constraintLine ? `${o.line}\n${o.constraintLine}` : o.line }),
  limit: (o) => ({ source: 'limit', text: limitText(o) }),
  'memory-peak': (o) => ({
    source: o.source,
    text:
      o.anonPeakBytes !== undefined
        ? `peak anon ${formatBytes(o.anonPeakBytes)}${o.limitBytes ? ` of ${formatBytes(o.limitBytes)} limit` : ''}${o.cacheBytes !== undefined ? ` (+ ${formatBytes(o.cacheBytes)} page cache)` : ''}, cgroup usage peak ${formatBytes(o.peakBytes)}${o.peakBytes > o.anonPeakBytes + (o.cacheBytes ?? 0) + USAGE_GAP_BYTES ? ' (all that was charged to it, kernel memory too, at its own highest moment)' : ''}`
        : `peak ${formatBytes(o.peakBytes)}${o.limitBytes ? ` of ${formatBytes(o.limitBytes)} limit` : ''}`,
  }),
  'server-variables': (o) => ({ source: 'server', text: `@@open_files_limit=${o.variables.open_files_limit} (${o.variables.version})` }),
  readiness: (o) => ({ source: 'readiness', text: o.ready ? `answered a ping after ${o.afterMs}ms` : `not ready after ${o.afterMs}ms: ${o.why}` }),
  syscall: (o) => ({ source: 'bpftrace', text: o.line }),
  'server-log': () => undefined,
  nofile: (o) => ({
    source: 'nofile',
    text: `${o.emulated ? `nofile ${o.requested} emulated (real limit ${o.realLimit}, getrlimit shim)` : `nofile ${o.requested}`}${o.proc ? `; /proc/${o.proc.pid}/limits: soft ${o.proc.soft}, hard ${o.proc.hard ?? '?'}` : ''}`,
  }),
  'observer-unavailable': (o) => ({ source: o.observer, text: `unavailable: ${o.reason}` }),
  sample: () => undefined,
  'warm-up': (o) => ({ source: 'warm-up', text: warmUpText(o) }),
  step: (o) => ({
    source: 'step',
    text: `${o.step} (${o.action}${o.instance ? ` on ${o.instance}` : ''}) ${o.phase}: ${o.detail}${o.output ? `\n${o.output}` : ''}`,
  }),
  'innodb-status': (o) =>
    o.semaphoreWaits.length === 0
      ? undefined
      : {
          source: 'innodb-status',
          text: `${o.semaphoreWaits.length} semaphore wait(s): ${o.semaphoreWaits
            .slice(0, 3)
            .map((w) => {
              const latch = [latchText(w.request, w.lock), w.waitersFlag !== undefined ? `waiters flag ${w.waitersFlag}` : undefined].filter(Boolean);
              return `${w.file}:${w.line} waited ${Math.round(w.seconds * 1000)} ms${latch.length > 0 ? ` (${latch.join(', ')})` : ''}`;
            })
            .join('; ')}`,
        },
  workload: (o) => {
    const r = o.result;
    const errors = Object.entries(r.errorsByCode)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([code, n]) => `${code}×${n}`);
    const tail = errors.length ? `, errors ${errors.join(' ')}` : '';
    if (r.driver === 'storm') {
      return {
        source: r.driver,
        text: `${r.sessions.started}/${r.sessions.intended} sessions started (${r.sessions.completed} completed, ${r.sessions.failed} failed, ${r.sessions.dropped} dropped), query p99 ${r.queryLatencyMs.p99}ms, connect p99 ${r.connectLatencyMs.p99}ms${tail}${stormSaturationText(r)}`,
      };
    }
    return {
      source: r.driver,
      text: `${r.requests.started}/${r.requests.intended} requests sent through the app tier (${r.requests.completed} ok, ${r.requests.failed} failed, ${r.requests.dropped} dropped), p99 ${r.latencyMs.p99}ms${tail}`,
    };
  },
};

/** `memory limit 1.4 GiB from step limit-a`, `memory limit 9 GiB (side host-a's budget)`, `no memory limit after undoing step limit-a`. */
export function limitText(o: ObservationOf<'limit'>): string {
  const what = o.limitBytes !== undefined ? `memory limit ${formatBytes(o.limitBytes)}${o.side ? ` (side ${o.side}'s budget)` : ''}` : 'no memory limit';
  const when = o.phase === 'start' ? 'at start' : o.phase === 'step' ? `from step ${o.step ?? '?'}` : `after undoing step ${o.step ?? '?'}`;
  return `${what} ${when}`;
}

/** `buffer pool 90% full (87 610 of 97 344 pages, 1.3 GiB) in 21.4 s`: what the warm-up reached, by the server's own counts. */
export function warmUpText(o: ObservationOf<'warm-up'>): string {
  const share = (pages: number) => Math.round((100 * pages) / Math.max(1, o.pagesTotal));
  const reached = `buffer pool ${share(o.pagesDataAfter)}% full (${o.pagesDataAfter} of ${o.pagesTotal} pages, ${formatBytes(o.pagesDataAfter * o.pageSizeBytes)}; ${share(o.pagesDataBefore)}% before)`;
  const asked = Math.round(o.targetFraction * 100);
  // A small pool stops filling well short of the fraction asked: InnoDB keeps up to innodb_lru_scan_depth pages free
  // (1536 by default in MariaDB 10.11), and a newcomer read "46% full … full before the 95% asked" as a contradiction.
  const small = o.full && o.pagesTotal < SMALL_POOL_PAGES ? `, as InnoDB keeps part of a pool this small free (up to innodb_lru_scan_depth pages)` : '';
  return `${reached} in ${(o.durationMs / 1000).toFixed(1)} s, ${o.full ? `stopped filling before the ${asked}% asked: reads evict pages instead of growing the pool${small}` : `${asked}% asked`}`;
}

/** Below this many pages a pool's free reserve is a large part of it: 8192 pages are 128 MiB of 16 KiB pages. */
const SMALL_POOL_PAGES = 8192;

/** Which side stopped keeping up, and the driver's own lag beside the server's connect latency (absent in older reports). */
export function stormSaturationText(r: Pick<StormResult, 'saturated' | 'driverLagMs' | 'serverConnectLatencyMs'>): string {
  const lag = r.driverLagMs && r.serverConnectLatencyMs ? `; driver lag p99 ${r.driverLagMs.p99}ms (max ${r.driverLagMs.max}ms), server connect p99 ${r.serverConnectLatencyMs.p99}ms` : '';
  const saturated = r.saturated
    ? `; the ${r.saturated.side} stopped keeping up at ${r.saturated.second}s (${r.saturated.intendedPerSecond} sessions/s intended): ${r.saturated.why}`
    : r.driverLagMs
      ? '; driver and server kept up'
      : '';
  return `${lag}${saturated}`;
}

/** A usage peak this far above anon + page cache needs a word: a newcomer read 262 MiB beside 104 + 85.7 MiB as wrong. */
const USAGE_GAP_BYTES = 16 * 1024 ** 2;
