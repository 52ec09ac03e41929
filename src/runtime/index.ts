export * from './engine.ts';
export * from './images.ts';
export * from './nofile-shim.ts';
export * from './labels.ts';
export * from './cleanup.ts';
export * from './instance.ts';
export * from './events.ts';
export * from './host-switches.ts';
