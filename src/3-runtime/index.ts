// The engine seam (runtime.ts), its Docker implementation, and the nofile shim (compiled on this host for any engine).
export * from './runtime.ts';
export { dockerRuntime } from './docker/runtime.ts';
export * from './nofile-shim.ts';
export * from './lab/index.ts';
