// The engine seam (runtime.ts), its Docker implementation, and the nofile shim (compiled on this host for any engine).
export * from './runtime.ts';
export { dockerRuntime } from './docker/runtime.ts';
export * from './nofile-shim.ts';
// The lab VM (issue 23): what `oomlab clean` and `--host lab[:SHAPE]` need of it so far.
export { labHost, labRuntime, type LabShape } from './lab/index.ts';
