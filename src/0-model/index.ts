// The bottom layer: the result model (report.json's shape and schema) and the small vocabulary every stage shares.
export * from './config.ts';
export * from './errors.ts';
export * from './evidence.ts';
export * from './host.ts';
export * from './judgement.ts';
export * from './observation.ts';
export * from './pick.ts';
export * from './poll.ts';
export * from './prediction.ts';
export * from './report.ts';
export * from './report-schema.ts';
export * from './units.ts';
export * from './workload-defaults.ts';
export * from './workload-result.ts';
export * from './figures.ts';
export * from './version-view.ts';
export * from './semaphore-text.ts';
