import { FaultFailedError } from '../../../0-model/errors.ts';
import type { Engine } from '../engine.ts';
import { imageExists } from '../images.ts';
import type { AppliedFault, FaultTarget as SeamFaultTarget, StartedInstance } from '../../runtime.ts';

/** Docker's faults act through the engine's clients beside what the seam gives. */
export interface FaultTarget extends SeamFaultTarget {
  engine: Engine;
}

export type { AppliedFault };
export { engineMessage, statusCodeOf } from '../engine.ts';

export function instanceNamed(target: FaultTarget, name: string): StartedInstance {
  const instance = target.instances.get(name);
  if (!instance) {
    const started = [...target.instances.keys()];
    throw new FaultFailedError(`no started instance \`${name}\` in configuration ${target.configId}; started: ${started.length > 0 ? started.join(', ') : 'none'}`);
  }
  return instance;
}

/** A fault never pulls: an image the engine does not have is one line naming it and how to get it. */
export async function requireImage(target: FaultTarget, image: string, action: string): Promise<void> {
  if (await imageExists(target.engine, image)) return;
  throw new FaultFailedError(`${action}: image ${image} is not on this host (faults never pull) — \`oomlab images\` lists what this host has, \`oomlab images load FILE\` brings a saved one`);
}
