// The engine seam (runtime.ts), its Docker implementation, and the nofile shim (compiled on this host for any engine).
export * from './runtime.ts';
export { dockerRuntime } from './docker/runtime.ts';
export * from './nofile-shim.ts';
// The lab VM is not behind the seam yet (issue 23): `oomlab clean` removes what a dead lab run left.
export { removeAbandonedGuestBuilds, removeAbandonedLabs } from './lab/index.ts';
