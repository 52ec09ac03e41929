export * from './shape.ts';
export * from './agent.ts';
export * from './vm.ts';
export * from './accel.ts';
export * from './guest.ts';
