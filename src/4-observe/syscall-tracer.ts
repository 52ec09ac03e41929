import { existsSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { onPath } from './host-facts.ts';

/** One traced call of a server process, as the incident's own bpftrace investigation saw it. */
export interface TracedSyscall {
  syscall: 'mmap' | 'brk' | 'prlimit64';
  pid: number;
  comm: string;
  /** The container's hostname (UTS namespace), which tells which instance made the call. */
  host: string;
  lenBytes?: number;
  flags?: number;
  /** prlimit64 with a new limit (setrlimit) rather than a read (getrlimit). */
  sets?: boolean;
  line: string;
}

const SERVER = '(comm == "mysqld" || comm == "mariadbd")';
const HOST = 'curtask->nsproxy->uts_ns->name.nodename';
const LARGE = 64 * 1024 * 1024;

/** The bpftrace program: large mmap/brk of the server, and the RLIMIT_NOFILE reads before them. */
export const TRACER_PROGRAM = `
tracepoint:syscalls:sys_enter_mmap /${SERVER} && args->len >= ${LARGE}/ {
  printf("mmap pid=%d comm=%s host=%s len=%lu flags=%lu\\n", pid, comm, ${HOST}, args->len, args->flags);
}
tracepoint:syscalls:sys_enter_brk /${SERVER}/ {
  if (@brk[pid] != 0 && args->brk > @brk[pid] + ${LARGE}) {
    printf("brk pid=%d comm=%s host=%s len=%lu\\n", pid, comm, ${HOST}, args->brk - @brk[pid]);
  }
  @brk[pid] = args->brk;
}
tracepoint:syscalls:sys_enter_prlimit64 /${SERVER} && args->resource == 7/ {
  printf("prlimit64 pid=%d comm=%s host=%s set=%d\\n", pid, comm, ${HOST}, args->new_rlim != 0);
}
tracepoint:syscalls:sys_enter_getrlimit /${SERVER} && args->resource == 7/ {
  printf("prlimit64 pid=%d comm=%s host=%s set=0\\n", pid, comm, ${HOST});
}
END { clear(@brk); }
`;

/**
 * bpftrace prints "Attaching N probes..." before it attaches them, so a server started at once could make
 * its first calls unseen. This probe, last in the program, fires on this process's own getppid (which
 * reading `process.ppid` makes): once it prints, the probes before it are live.
 */
export function readyProbe(pid: number): string {
  return `tracepoint:syscalls:sys_enter_getppid /pid == ${pid}/ { printf("ready\\n"); }\n`;
}

const READY_WITHIN_MS = 10_000;

export function parseTracerLine(line: string): TracedSyscall | undefined {
  const match = /^(mmap|brk|prlimit64) pid=(\d+) comm=(\S+) host=(\S*)(.*)$/.exec(line.trim());
  if (!match) return undefined;
  const fields = Object.fromEntries([...match[5]!.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
  return {
    syscall: match[1] as TracedSyscall['syscall'],
    pid: Number(match[2]),
    comm: match[3]!,
    host: match[4]!,
    ...(fields.len !== undefined ? { lenBytes: fields.len } : {}),
    ...(fields.flags !== undefined ? { flags: fields.flags } : {}),
    ...(fields.set !== undefined ? { sets: fields.set === 1 } : {}),
    line: line.trim(),
  };
}

export type SyscallTracer = { available: true; stop(): Promise<void> } | { available: false; reason: string };

/**
 * Starts bpftrace (mounting tracefs first when needed) and calls `onCall` for every traced call.
 * Resolves once the probes are attached, or with the reason the tracer cannot work here.
 */
export async function startSyscallTracer(onCall: (call: TracedSyscall) => void, signal: AbortSignal): Promise<SyscallTracer> {
  if (!(await onPath('bpftrace'))) return { available: false, reason: 'bpftrace is not installed (apt-get install bpftrace)' };
  if (!existsSync('/sys/kernel/tracing/events') && !existsSync('/sys/kernel/debug/tracing/events')) {
    const mounted = await execa('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing'], { timeout: 5_000, reject: false });
    if (mounted.failed) return { available: false, reason: `tracefs is not mounted and cannot be (${mounted.stderr.trim() || 'mount failed'})` };
  }
  const child: ResultPromise = execa('bpftrace', ['-e', TRACER_PROGRAM + readyProbe(process.pid)], {
    cancelSignal: signal,
    forceKillAfterDelay: 2_000,
    reject: false,
    buffer: false,
    stdin: 'ignore',
  });
  let stderr = '';
  let poke: ReturnType<typeof setInterval> | undefined;
  const attached = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 30_000);
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('Attaching')) {
          // Probing starts now; live once the ready probe answers a getppid.
          clearTimeout(timer);
          const giveUp = setTimeout(() => resolve(false), READY_WITHIN_MS);
          poke = setInterval(() => void process.ppid, 20);
          void attached.finally(() => clearTimeout(giveUp));
          continue;
        }
        if (line === 'ready') {
          resolve(true);
          continue;
        }
        const call = parseTracerLine(line);
        if (call) onCall(call);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    void child.then(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  const live = await attached;
  clearInterval(poke);
  if (!live) {
    child.kill('SIGKILL');
    await child;
    const why =
      stderr.split('\n').find((l) => l.startsWith('ERROR') && !l.includes('RLIMIT_MEMLOCK')) ?? `probes did not attach within 30000ms (or the ready probe did not answer within ${READY_WITHIN_MS}ms)`;
    return { available: false, reason: `bpftrace: ${why.trim()}` };
  }
  return {
    available: true,
    async stop() {
      // SIGINT lets bpftrace detach its probes; one that does not exit soon is killed outright.
      child.kill('SIGINT');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await child;
      clearTimeout(killer);
    },
  };
}
