import type { HttpLoadResult, StormResult } from './workload-result.ts';

/** What the other processes of a kill's task table held beside the victim: the budget's rest, named. */
export interface OthersAtKill {
  /** Their resident memory (the table's `rss` column: anon, file and shmem pages), summed. */
  rssKb: number;
  count: number;
  /** The largest few, largest first. */
  largest: { name: string; rssKb: number }[];
}

/** Everything observed during a run, one tagged union; report formats must handle every kind. */
export type Observation =
  | { kind: 'docker-event'; t: number; instance: string; action: string; exitCode?: number }
  | { kind: 'container-state'; t: number; instance: string; status: string; oomKilled: boolean; exitCode: number }
  /**
   * One kill: `line` is the `Killed process` line, `constraintLine` the `oom-kill:` line that names the cgroup. `step`: the
   * step that started the killed container (a neighbour), `instance` then that container's name (`neighbour-15`).
   */
  | {
      kind: 'kernel-oom';
      t: number;
      instance: string;
      process: string;
      pid: number;
      totalVmKb: number;
      anonRssKb: number;
      constraint: string;
      memcg: string;
      line: string;
      constraintLine?: string;
      step?: string;
      /** The other processes of the kill's task table: in a lab VM's global OOM, the guest's own system beside the server. */
      others?: OthersAtKill;
    }
  /** `peakBytes` is the cgroup's high-water mark, page cache counted; `anonPeakBytes` the anonymous memory's peak (memory.stat rss/anon, or the kernel's anon-rss at a kill) with `cacheBytes` of page cache beside it. */
  /**
   * The memory limit in force from `t` (the instance's own or its side's budget, whichever is lower; absent:
   * none): written as the instance starts (`start`), by a `limit` step (`step`) and by its undo (`undo`).
   */
  | { kind: 'limit'; t: number; instance: string; limitBytes?: number; side?: string; phase: 'start' | 'step' | 'undo'; step?: string }
  | { kind: 'memory-peak'; t: number; instance: string; peakBytes: number; limitBytes?: number; source: string; anonPeakBytes?: number; cacheBytes?: number }
  | { kind: 'server-variables'; t: number; instance: string; variables: Record<string, string> }
  | { kind: 'readiness'; t: number; instance: string; ready: boolean; afterMs: number; why: string }
  | { kind: 'syscall'; t: number; instance: string; pid: number; comm: string; syscall: string; lenBytes?: number; flags?: number; line: string }
  | { kind: 'server-log'; t: number; instance: string; tail: string }
  /** `proc`: `Max open files` of the instance's first process in /proc/<pid>/limits on the node, read once it started: what the runtime really gave. */
  | { kind: 'nofile'; t: number; instance: string; requested: number | 'default'; realLimit: number | 'default'; emulated: boolean; proc?: { pid: number; soft: number; hard?: number } }
  | { kind: 'observer-unavailable'; t: number; observer: string; reason: string }
  /** One measured value over time: cgroup memory, server status, host counters (per second where a counter). */
  | { kind: 'sample'; t: number; instance: string; source: 'cgroup' | 'status' | 'host' | 'workload' | 'app-tier'; metric: string; value: number }
  /** `version` is the server's @@version, which decides whether it can list semaphore waits at all. */
  | {
      kind: 'innodb-status';
      t: number;
      instance: string;
      semaphoreWaits: SemaphoreWait[];
      osWaitReservations?: number;
      osWaitSignals?: number;
      historyListLength?: number;
      excerpt: string;
      version?: string;
    }
  | { kind: 'workload'; t: number; instance: string; driver: string; result: StormResult | HttpLoadResult }
  /** The buffer pool warm-up before time zero: the server's own page counts before and after it. */
  | {
      kind: 'warm-up';
      t: number;
      instance: string;
      targetFraction: number;
      pagesTotal: number;
      pagesDataBefore: number;
      pagesDataAfter: number;
      pageSizeBytes: number;
      full: boolean;
      durationMs: number;
    }
  /**
   * A step of the scenario's timeline (a fault or a zx step), one observation per phase: `start` and
   * `undo` bound the span a chart shades; `failed`/`timeout` carry the step's output as evidence.
   */
  | { kind: 'step'; t: number; step: string; action: string; instance?: string; phase: StepPhase; detail: string; output?: string };

/** `done`: the action returned (a fault stays in force until `undo`); `skipped`: its trigger never came. */
export type StepPhase = 'start' | 'done' | 'undo' | 'failed' | 'timeout' | 'skipped';

/** An observation whose time the timeline fills in. */
export type UntimedObservation = Observation extends infer O ? (O extends Observation ? Omit<O, 't'> & { t?: number } : never) : never;

export type ObservationKind = Observation['kind'];
export type ObservationOf<K extends ObservationKind> = Extract<Observation, { kind: K }>;

/** A formatter per kind: adding a kind does not compile until every format handles it. */
export type PerKind<R> = { [K in ObservationKind]: (observation: ObservationOf<K>) => R };

export function formatWith<R>(formats: PerKind<R>, observation: Observation): R {
  return (formats[observation.kind] as (o: Observation) => R)(observation);
}

/** One `--Thread N has waited at FILE line L for S seconds the semaphore:` entry. */
export interface SemaphoreWait {
  thread: string;
  file: string;
  line: number;
  seconds: number;
  /** The `waiters flag` printed for this wait, when present. */
  waitersFlag?: number;
  /**
   * The latch waited for: a mutex by name (`&kernel_mutex`, `TRX_POOL`), a rw-latch by where it was
   * created (`RW-latch created in buf0buf.cc line 1046`: a buffer page).
   */
  lock?: string;
  /** What the thread asked for: `Mutex`, `X-lock`, `S-lock`, `SX-lock` or `X-lock (wait_ex)`. */
  request?: string;
  /** The server printed `wait has ended`: the thread got the latch while the status was being written. */
  ended?: boolean;
}
