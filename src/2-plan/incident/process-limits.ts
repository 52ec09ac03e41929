// The open-files limit production's server had: `/proc/<pid>/limits` or `ulimit -a` / `ulimit -n` output.

export interface NofileLimit {
  soft: number;
  hard?: number;
}

const UNLIMITED = /^unlimited$/i;
/** What `unlimited` means for nofile: the kernel caps RLIMIT_NOFILE at fs.nr_open, 1073741816 on most hosts that raise it. */
const NR_OPEN_CEILING = 1_073_741_816;

function readLimit(value: string): number | undefined {
  if (UNLIMITED.test(value)) return NR_OPEN_CEILING;
  return /^\d+$/.test(value) ? Number(value) : undefined;
}

/** The nofile limit in `/proc/<pid>/limits`, `ulimit -a` or a lone `ulimit -n` number; undefined when none is there. */
export function parseNofile(text: string): NofileLimit | undefined {
  const proc = /^Max open files\s+(\S+)\s+(\S+)\s+files/m.exec(text);
  if (proc) {
    const soft = readLimit(proc[1]!);
    const hard = readLimit(proc[2]!);
    if (soft !== undefined) return { soft, ...(hard !== undefined ? { hard } : {}) };
  }
  const ulimit = /^(?:open files|nofile)\s+\((?:-n|blocks, -n)\)\s+(\S+)/m.exec(text) ?? /^-n: file descriptors\s+(\S+)/m.exec(text);
  if (ulimit) {
    const soft = readLimit(ulimit[1]!);
    if (soft !== undefined) return { soft };
  }
  const lone = /^\s*(\d+|unlimited)\s*$/.exec(text);
  if (lone) {
    const soft = readLimit(lone[1]!);
    if (soft !== undefined) return { soft };
  }
  return undefined;
}
