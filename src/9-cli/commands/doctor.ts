// `oomlab doctor`: what this host can run, and why not.
import { parseArgs } from 'node:util';
import { formatDoctor, runDoctor } from '../doctor.ts';

export async function commandDoctor(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
  const { checks } = await runDoctor();
  if (values.json) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
  else process.stdout.write(`${formatDoctor(checks)}\n`);
  return 0;
}
