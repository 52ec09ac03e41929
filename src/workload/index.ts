export * from './arrival.ts';
export * from './storm.ts';
export * from './feed.ts';
