import type { SemaphoreWait } from '../0-model/observation.ts';

export type { SemaphoreWait };

export interface InnodbStatus {
  semaphoreWaits: SemaphoreWait[];
  osWaitReservations?: number;
  osWaitSignals?: number;
  historyListLength?: number;
  /** The SEMAPHORES section as printed, for reports. */
  semaphoresExcerpt: string;
}

const WAIT = /^--Thread (\d+) has waited at (\S+) line (\d+) for ([\d.]+) seconds the semaphore:/;

/** Parses the text of `SHOW ENGINE INNODB STATUS` (MySQL 5.5–8.0 and MariaDB print the same sections). */
export function parseInnodbStatus(text: string): InnodbStatus {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === 'SEMAPHORES');
  let end = lines.length;
  if (start >= 0) {
    // The section ends at the next `-----` header that follows a title line.
    for (let i = start + 2; i < lines.length - 1; i++) {
      if (/^-{4,}$/.test(lines[i + 1]!.trim()) && /^[A-Z][A-Z /]+$/.test(lines[i]!.trim()) && /^-{4,}$/.test(lines[i - 1]!.trim())) {
        end = i - 1;
        break;
      }
    }
  }
  const section = start >= 0 ? lines.slice(start + 2, end) : [];
  const semaphoreWaits: SemaphoreWait[] = [];
  let current: SemaphoreWait | undefined;
  let osWaitReservations: number | undefined;
  let osWaitSignals: number | undefined;
  for (const raw of section) {
    const line = raw.trim();
    const wait = WAIT.exec(line);
    if (wait) {
      current = { thread: wait[1]!, file: wait[2]!, line: Number(wait[3]), seconds: Number(wait[4]) };
      semaphoreWaits.push(current);
      continue;
    }
    const array = /OS WAIT ARRAY INFO: reservation count (\d+)(?:,? signal count (\d+))?/.exec(line);
    if (array) {
      osWaitReservations = Number(array[1]);
      if (array[2] !== undefined) osWaitSignals = Number(array[2]);
      continue;
    }
    if (!current) continue;
    const flag = /waiters flag (\d+)/.exec(line);
    if (flag) current.waitersFlag = Number(flag[1]);
    const lock = /(?:Mutex|RW-\w+ on RW-latch|S-lock on RW-latch|X-lock on RW-latch) at 0x[0-9a-f]+ (?:'([^']+)'|created file)/.exec(line);
    if (lock?.[1]) current.lock = lock[1];
  }
  const history = /History list length (\d+)/.exec(text);
  return {
    semaphoreWaits,
    ...(osWaitReservations !== undefined ? { osWaitReservations } : {}),
    ...(osWaitSignals !== undefined ? { osWaitSignals } : {}),
    ...(history ? { historyListLength: Number(history[1]) } : {}),
    semaphoresExcerpt: section.join('\n').trim(),
  };
}
