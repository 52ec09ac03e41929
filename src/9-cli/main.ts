import { CancelledError, describeError, OomlabError, UsageError } from '../0-model/errors.ts';
import { commandBisect } from './commands/bisect.ts';
import { commandClean } from './commands/clean.ts';
import { commandCompare } from './commands/compare.ts';
import { commandDoctor } from './commands/doctor.ts';
import { commandFromIncident } from './commands/from-incident.ts';
import { commandImages } from './commands/images.ts';
import { commandList } from './commands/list.ts';
import { commandMerge } from './commands/merge.ts';
import { commandProbe } from './commands/probe.ts';
import { commandReport } from './commands/report.ts';
import { commandRun } from './commands/run.ts';
import { commandUsage, USAGE } from './usage.ts';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // `oomlab run --help`: that command's lines of the table (an option after `--` is a positional, not a request for help).
  const beforeDashes = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  const help = command !== undefined && (beforeDashes.includes('--help') || beforeDashes.includes('-h')) ? commandUsage(command) : undefined;
  if (help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  switch (command) {
    case 'run':
      return commandRun(rest);
    case 'list':
      return commandList(rest);
    case 'report':
      return commandReport(rest);
    case 'doctor':
      return commandDoctor(rest);
    case 'clean':
      return commandClean(rest);
    case 'images':
      return commandImages(rest);
    case 'compare':
      return commandCompare(rest);
    case 'merge':
      return commandMerge(rest);
    case 'from-incident':
      return commandFromIncident(rest);
    case 'probe':
      return commandProbe(rest);
    case 'bisect':
      return commandBisect(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command \`${command}\`; commands: run, from-incident, merge, bisect, report, compare, images, probe, doctor, list, clean (oomlab --help)`);
  }
}

/** Exits once stdout and stderr have flushed: to a pipe they are asynchronous, and exiting at once cut `--json` at 64 KiB. */
function exitAfterOutput(code: number): void {
  let pending = 2;
  const done = () => --pending === 0 && process.exit(code);
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main(process.argv.slice(2)).then(
  (code) => exitAfterOutput(code),
  (error: unknown) => {
    const name = error instanceof OomlabError ? error.name : 'Error';
    process.stderr.write(`oomlab: ${name}: ${describeError(error).split('\n')[0]}\n`);
    if (process.env.OOMLAB_DEBUG) console.error(error);
    exitAfterOutput(error instanceof CancelledError ? 130 : 2);
  },
);
