import type { Workload } from '../../1-scenario/index.ts';
import type { Driver, DriverContext } from './context.ts';
import { driveHttpBurst } from './http-burst.ts';
import { driveStorm } from './storm.ts';

/** One driver per workload kind: a new kind does not compile until it has one. */
export const DRIVERS: { [K in Workload['kind']]: Driver<Extract<Workload, { kind: K }>> } = {
  storm: driveStorm,
  'http-burst': driveHttpBurst,
};

/** Runs the workload with the driver of its kind. */
export function drive(workload: Workload, context: DriverContext): Promise<void> {
  return (DRIVERS[workload.kind] as Driver<Workload>)(workload, context);
}
