// Host-wide settings (THP, drop_caches) are one per host: a run that switches them holds a lease, a
// lock file under /run/oomlab/, so a second run on the same host waits for it rather than switching
// the first one's THP under its feet. A lease whose owner died is taken over.
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OomlabError } from '../../0-model/errors.ts';
import type { HostLease, HostLeaseHolder, HostLeaseOptions } from '../runtime.ts';
import { ownerAlive } from './labels.ts';

/** Under /run: a reboot (which resets every host setting) also clears the lease. */
export const HOST_LEASE_FILE = '/run/oomlab/host-settings.lease';

/** A lease file another run is still writing is read again for this long before it counts as stale. */
const UNWRITTEN_STALE_MS = 10_000;

async function olderThan(path: string, ms: number): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info === undefined || Date.now() - info.mtimeMs > ms;
}

async function holderOf(path: string): Promise<HostLeaseHolder | undefined> {
  try {
    const holder = JSON.parse(await readFile(path, 'utf8')) as HostLeaseHolder;
    return Number.isInteger(holder.pid) ? holder : undefined;
  } catch {
    return undefined;
  }
}

/** The lease's holder in words, for the waiting line and the refusal. */
export function describeHolder(holder: HostLeaseHolder): string {
  return `run ${holder.runId} of ${holder.scenario} (pid ${holder.pid}, since ${holder.since})`;
}

/** Takes the host-settings lease, waiting while another live run holds it; refuses in one line after `waitMs`. */
export async function acquireHostLease(options: HostLeaseOptions): Promise<HostLease> {
  const path = options.path ?? HOST_LEASE_FILE;
  const waitMs = options.waitMs ?? 600_000;
  const started = Date.now();
  const holder: HostLeaseHolder = { pid: options.pid ?? process.pid, runId: options.runId, scenario: options.scenario, since: new Date().toISOString() };
  await mkdir(dirname(path), { recursive: true });
  let told = false;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const file = await open(path, 'wx');
      try {
        await file.writeFile(JSON.stringify(holder));
      } finally {
        await file.close();
      }
      return {
        holder,
        async release() {
          // Only our own lease: a lease taken over after ours was judged dead is not ours to remove.
          if ((await holderOf(path))?.runId === holder.runId) await rm(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const other = await holderOf(path);
    // A lease left by a dead run is stale; one still unreadable after a while was never finished.
    if (other ? !ownerAlive(other.pid) : await olderThan(path, UNWRITTEN_STALE_MS)) {
      await rm(path, { force: true });
      continue;
    }
    if (!other) {
      await sleep(options.pollMs ?? 1_000, undefined, options.signal ? { signal: options.signal } : {});
      continue;
    }
    // Said before the deadline is checked: a slow first look (a loaded host) must not refuse without naming the holder first.
    if (!told) options.onWaiting?.(other);
    told = true;
    if (Date.now() - started >= waitMs) {
      throw new OomlabError(
        'HOST_LEASE_BUSY',
        `host settings (THP, drop_caches) are held by ${describeHolder(other)} after waiting ${Math.round(waitMs / 1000)} s — let it finish or stop it; two runs on one host switch each other's THP`,
      );
    }
    await sleep(options.pollMs ?? 1_000, undefined, options.signal ? { signal: options.signal } : {});
  }
}
