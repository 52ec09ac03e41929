// Engine-neutral: runc writes the same /proc/<pid>/cgroup under Docker, containerd or in a lab VM.
const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * The cgroup directory of a v1 controller named by a `/proc/<pid>/cgroup` text (its own line, e.g.
 * `cpu,cpuacct` for cpuacct), else the v2 `0::` line. The text must be read from the node's root cgroup namespace.
 */
export function cgroupDirOf(procCgroup: string, controller: 'memory' | 'cpuacct', root = CGROUP_ROOT): string | undefined {
  const lines = procCgroup.split('\n').map((line) => line.trim().split(':'));
  const v1 = lines.find((fields) => fields.length >= 3 && fields[1]!.split(',').includes(controller));
  if (v1) return `${root}/${controller}${v1.slice(2).join(':')}`;
  const v2 = lines.find((fields) => fields.length >= 3 && fields[0] === '0' && fields[1] === '');
  // A v2 path of `/` is the reader's own namespace root, not a container's cgroup.
  return v2 && v2.slice(2).join(':') !== '/' ? `${root}${v2.slice(2).join(':')}` : undefined;
}

/**
 * The unified (v2) directory of a `/proc/<pid>/cgroup` text's `0::` line: under the root on a v2 host, under
 * `unified/` on a hybrid v1 host (systemd's layout, where it carries PSI but no controllers).
 */
export function unifiedCgroupDirOf(procCgroup: string, hybrid: boolean, root = CGROUP_ROOT): string | undefined {
  const v2 = procCgroup
    .split('\n')
    .map((line) => line.trim().split(':'))
    .find((fields) => fields.length >= 3 && fields[0] === '0' && fields[1] === '');
  const path = v2?.slice(2).join(':');
  if (path === undefined || path === '/') return undefined;
  return `${root}${hybrid ? '/unified' : ''}${path}`;
}
