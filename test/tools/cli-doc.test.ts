import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { USAGE } from '../../src/9-cli/usage.ts';
import { CLI_DOC, renderCliDoc } from '../../tools/cli-doc.ts';

describe('docs/cli.md', () => {
  it('is the command table of `oomlab --help` as it is today (regenerate: npm run docs:cli)', () => {
    expect(readFileSync(CLI_DOC, 'utf8')).toBe(renderCliDoc(USAGE));
  });

  it('names every command the CLI dispatches', () => {
    const main = readFileSync(new URL('../../src/9-cli/main.ts', import.meta.url), 'utf8');
    const commands = [...main.matchAll(/case '([a-z-]+)':\n\s+return command/g)].map((m) => m[1]!);
    expect(commands.length).toBeGreaterThan(5);
    for (const command of commands) expect(readFileSync(CLI_DOC, 'utf8'), command).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });
});
