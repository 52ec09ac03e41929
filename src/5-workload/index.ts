export * from './arrival.ts';
export * from './storm.ts';
export * from './feed.ts';
export * from './http-load.ts';
export * from './k6.ts';
export * from './app-tier.ts';
