// `oomlab doctor`: what this host can run, and why not.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { formatDoctor, runDoctor } from '../doctor.ts';

export const DOCTOR_OPTIONS = { json: { type: 'boolean' } } satisfies ParseArgsOptionsConfig;

export async function commandDoctor(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: DOCTOR_OPTIONS });
  const { checks } = await runDoctor();
  if (values.json) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
  else process.stdout.write(`${formatDoctor(checks)}\n`);
  return 0;
}
