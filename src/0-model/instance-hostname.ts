/**
 * The hostname every server container of a run gets: the syscall tracer tells instances apart by it, and
 * the orchestrator routes a traced call by it before the container exists (a server reads its limits
 * within milliseconds of starting). At most 63 characters, as a hostname may be.
 */
export function instanceHostname(runId: string, configIndex: number, name: string): string {
  return `oomlab-${runId.slice(-6)}-${configIndex}-${name}`.slice(0, 63);
}
