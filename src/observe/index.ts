export * from './timeline.ts';
export * from './kernel-log.ts';
export * from './host-facts.ts';
export * from './cgroup-memory.ts';
export * from './server-variables.ts';
export * from './syscall-tracer.ts';
