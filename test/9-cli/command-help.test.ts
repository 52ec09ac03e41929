// `oomlab <command> --help` prints that command's lines of the table and exits 0: a newcomer's `from-incident --help`
// and `run --help` were refused as unknown options (exit 2, a quote left open).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { commandUsage, USAGE } from '../../src/9-cli/usage.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const COMMANDS = ['run', 'from-incident', 'merge', 'bisect', 'report', 'compare', 'images', 'probe', 'doctor', 'list', 'clean'];

describe('a command with --help', () => {
  it.each(COMMANDS)('%s has its own lines of the table, and only its own', (command) => {
    const help = commandUsage(command)!;
    expect(help.split('\n')[1]).toMatch(new RegExp(`^  ${command}( |$)`));
    for (const other of COMMANDS.filter((c) => c !== command && !c.startsWith(command))) expect(help).not.toMatch(new RegExp(`^  ${other}( |$)`, 'm'));
    expect(USAGE).toContain(help.split('\n').slice(1).join('\n'));
  });

  it('prints it and exits 0, before any engine is touched; after -- it is an argument', async () => {
    const help = await execa(join(ROOT, 'oomlab'), ['from-incident', '--help'], { reject: false });
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toBe(commandUsage('from-incident'));
    const positional = await execa(join(ROOT, 'oomlab'), ['report', '--', '--help'], { reject: false });
    expect(positional.exitCode).toBe(2);
  }, 60_000);
});
