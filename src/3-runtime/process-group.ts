// A child started in a process group of its own (`detached`), and the one way to stop all of it.

export interface GroupStopper {
  /** SIGTERM to the child's whole process group, once, and only while it still runs (debootstrap and dpkg go with it). */
  stop: () => void;
  /** Whether `stop` sent it: the child's end was ours, not its own. */
  readonly stopped: boolean;
}

export function groupStopper(child: { readonly pid?: number | undefined; readonly exitCode: number | null }): GroupStopper {
  let stopped = false;
  return {
    stop: () => {
      if (stopped || child.pid === undefined || child.exitCode !== null) return;
      stopped = true;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    },
    get stopped() {
      return stopped;
    },
  };
}
