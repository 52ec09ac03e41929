// Writes docs/cli.md from the CLI's command table (`npm run docs:cli`); test/tools/cli-doc.test.ts fails when they differ.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { USAGE } from '../src/9-cli/usage.ts';

export const CLI_DOC = resolve(import.meta.dirname, '../docs/cli.md');

/** docs/cli.md: the command table as `oomlab --help` prints it, under a header that says where it comes from. */
export function renderCliDoc(usage: string = USAGE): string {
  return [
    '# oomlab commands',
    '',
    '<!-- Generated from src/9-cli/usage.ts by `npm run docs:cli`; edit the table there, not here. -->',
    '',
    'Every command and flag, as `./oomlab --help` prints it. Examples and what the reports hold: [reports.md](reports.md);',
    'stuck containers and `oomlab clean`: [troubleshooting.md](troubleshooting.md).',
    '',
    '```text',
    usage,
    '```',
    '',
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) writeFileSync(CLI_DOC, renderCliDoc());
