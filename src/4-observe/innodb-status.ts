import type { SemaphoreWait } from '../0-model/observation.ts';

export type { SemaphoreWait };

export interface InnodbStatus {
  semaphoreWaits: SemaphoreWait[];
  osWaitReservations?: number;
  osWaitSignals?: number;
  historyListLength?: number;
  /** The SEMAPHORES section as printed (the first {@link EXCERPT_WAITS} waits of it), for reports. */
  semaphoresExcerpt: string;
}

/** Waits kept in the excerpt: a server under a burst lists dozens of the same few, sampled every second. */
export const EXCERPT_WAITS = 8;

// sync_array_cell_print (sync0arr.cc) in every server that has the wait array; %.2f seconds until MySQL 8.0, %d since.
const WAIT = /^--Thread (\d+) has waited at (\S+) line (\d+) for ([\d.]+) seconds the semaphore:/;
// 5.5: `Mutex at 0x… '&kernel_mutex', lock var 1`.
const MUTEX_NAMED = /^Mutex at 0x[0-9a-f]+ '([^']+)'/;
// MySQL 5.7/8.0/9.x and MariaDB 10.2–10.5 print the policy: `Mutex at 0x…, Mutex TRX_POOL created trx0trx.cc:388, …`.
const MUTEX_POLICY = /^Mutex at 0x[0-9a-f]+, (?:Mutex )?(\S+) created \S+/;
// `X-lock on RW-latch at 0x… created in file buf0buf.cc line 1046`: buf0buf.cc is a buffer page's latch.
const RW_LATCH = /^(X-lock \(wait_ex\)|X-lock|SX-lock|S-lock) on RW-latch at 0x[0-9a-f]+ created in file (\S+) line (\d+)/;
// What follows the waits in the section: the counters.
const TRAILER = /^(OS WAIT ARRAY INFO|Mutex spin waits|RW-shared spins|RW-excl spins|RW-sx spins|Spin rounds per wait)/;

/** The SEMAPHORES section's lines, without its title and underline (empty where there is none). */
function semaphoresSection(lines: string[]): string[] {
  const start = lines.findIndex((l) => l.trim() === 'SEMAPHORES');
  if (start < 0) return [];
  // The section ends at the next `-----` header that follows a title line.
  for (let i = start + 2; i < lines.length - 1; i++) {
    if (/^-{4,}$/.test(lines[i + 1]!.trim()) && /^[A-Z][A-Z /]+$/.test(lines[i]!.trim()) && /^-{4,}$/.test(lines[i - 1]!.trim())) return lines.slice(start + 2, i - 1);
  }
  return lines.slice(start + 2);
}

/** Reads one line of a wait's entry into the wait: the latch, the request, the waiters flag, an end. */
function readEntryLine(line: string, wait: SemaphoreWait): void {
  const rw = RW_LATCH.exec(line);
  if (rw) {
    wait.request = rw[1]!;
    wait.lock = `RW-latch created in ${rw[2]} line ${rw[3]}`;
    return;
  }
  const named = MUTEX_NAMED.exec(line) ?? MUTEX_POLICY.exec(line);
  if (named) {
    wait.request = 'Mutex';
    wait.lock = named[1]!;
  }
  const flag = /waiters flag (\d+)/.exec(line);
  if (flag) wait.waitersFlag = Number(flag[1]);
  if (line === 'wait has ended') wait.ended = true;
}

/**
 * Parses the text of `SHOW ENGINE INNODB STATUS`: MySQL 5.5 to 9.x and MariaDB to 10.5 list the wait
 * array's cells under SEMAPHORES; MariaDB 10.6+ prints the title and nothing under it.
 */
export function parseInnodbStatus(text: string): InnodbStatus {
  const section = semaphoresSection(text.split('\n'));
  const semaphoreWaits: SemaphoreWait[] = [];
  const excerpt: string[] = [];
  let current: SemaphoreWait | undefined;
  let osWaitReservations: number | undefined;
  let osWaitSignals: number | undefined;
  let leftOutCounted = false;
  // Once, where the waits end: how many the excerpt left out.
  const countLeftOut = () => {
    if (leftOutCounted || semaphoreWaits.length <= EXCERPT_WAITS) return;
    excerpt.push(`… ${semaphoreWaits.length - EXCERPT_WAITS} more waits (${semaphoreWaits.length} in all)`);
    leftOutCounted = true;
  };
  for (const raw of section) {
    const line = raw.trim();
    const wait = WAIT.exec(line);
    if (wait) {
      current = { thread: wait[1]!, file: wait[2]!, line: Number(wait[3]), seconds: Number(wait[4]) };
      semaphoreWaits.push(current);
    } else if (TRAILER.test(line)) {
      current = undefined;
      countLeftOut();
    }
    if (current === undefined || semaphoreWaits.length <= EXCERPT_WAITS) excerpt.push(raw);
    // 5.5 prints both counts on one line; later servers one line each, and one reservation line per array.
    const reservations = /OS WAIT ARRAY INFO: reservation count (\d+)/.exec(line);
    if (reservations) osWaitReservations = (osWaitReservations ?? 0) + Number(reservations[1]);
    const signals = /OS WAIT ARRAY INFO: (?:reservation count \d+,? )?signal count (\d+)/.exec(line);
    if (signals) osWaitSignals = Number(signals[1]);
    if (current && !wait) readEntryLine(line, current);
  }
  countLeftOut();
  const history = /History list length (\d+)/.exec(text);
  return {
    semaphoreWaits,
    ...(osWaitReservations !== undefined ? { osWaitReservations } : {}),
    ...(osWaitSignals !== undefined ? { osWaitSignals } : {}),
    ...(history ? { historyListLength: Number(history[1]) } : {}),
    semaphoresExcerpt: excerpt.join('\n').trim(),
  };
}

/** `10.11.18-MariaDB-0+deb12u1` → 10.11; undefined for any other server (MySQL, Percona). */
function mariadbRelease(version: string): { major: number; minor: number } | undefined {
  if (!/mariadb/i.test(version)) return undefined;
  // Old MariaDB clients saw `5.5.5-10.x.y-MariaDB`: the real version follows that prefix.
  const match = /^(?:5\.5\.5-)?(\d+)\.(\d+)/.exec(version);
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

/**
 * Why a server's SHOW ENGINE INNODB STATUS cannot list semaphore waits, decided from its @@version:
 * MariaDB 10.6.0 removed the wait array with InnoDB's own mutexes and events (MDEV-21452), and
 * srv_printf_innodb_monitor leaves SEMAPHORES "intentionally blank". Undefined where the server
 * prints the array (MySQL, MariaDB up to 10.5).
 */
export function semaphoreWaitsUnavailable(version: string): string | undefined {
  const release = mariadbRelease(version);
  if (!release || release.major * 100 + release.minor < 1006) return undefined;
  return `MariaDB 10.6+ prints no semaphore waits in SHOW ENGINE INNODB STATUS (the wait array was removed): none can be shown here (${version})`;
}
