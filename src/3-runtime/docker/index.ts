// Docker's implementation of the seam, for the tests, benches and tools that drive the engine itself.
// src/ above 3-runtime takes only the seam (../index.ts); nothing outside this folder imports dockerode.
export * from './engine.ts';
export * from './images.ts';
export * from './labels.ts';
export * from './cleanup.ts';
export * from './instance.ts';
export * from './events.ts';
export * from './host-switches.ts';
export * from './side-budget.ts';
export * from './image-archive.ts';
export * from './image-store.ts';
export * from './host-shell.ts';
export * from './container-shell.ts';
export * from './survey.ts';
export * from './faults/index.ts';
export * from './runtime.ts';
// The seam's vocabulary and the shim beside it, so a test or a bench imports one module.
export type * from '../runtime.ts';
export * from '../nofile-shim.ts';
