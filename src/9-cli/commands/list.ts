// `oomlab list`: the scenarios, their incidents and axes.
import { readdir } from 'node:fs/promises';
import { planRun } from '../../2-plan/index.ts';
import { loadScenario } from '../../1-scenario/index.ts';

export async function commandList(args: string[]): Promise<number> {
  const files = args.length > 0 ? args : (await readdir('scenarios')).filter((f) => f.endsWith('.ts')).map((f) => `scenarios/${f}`);
  for (const file of files) {
    const scenario = await loadScenario(file);
    const configs = planRun(scenario);
    process.stdout.write(`${file}  (${configs.length} configurations)\n  ${scenario.incident}\n`);
    for (const [axis, values] of Object.entries(scenario.matrix)) process.stdout.write(`    ${axis}: ${values.join(', ')}\n`);
  }
  return 0;
}
