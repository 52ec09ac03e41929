export * from './outcome.ts';
export * from './metrics.ts';
export * from './load-expectations.ts';
export * from './verdict.ts';
export * from './semaphores.ts';
export * from './margins.ts';
export * from './repeats.ts';
export * from './step-expectations.ts';
