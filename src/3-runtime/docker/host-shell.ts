// zx's `$` bound to a run: its folder, its environment, its cancellation signal, and its verbose
// output written to the run's log instead of the terminal (docs/shell.md says when zx, when execa).
import { $, type LogEntry, type Options } from 'zx';

import type { BoundShell } from '../../1-scenario/steps.ts';

export type { BoundShell };

export interface BoundShellOptions {
  cwd: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  signal: AbortSignal;
  /** Receives one line per command, per line of its output, and its exit when non-zero. */
  log: (line: string) => void;
}

/** Turns zx's log entries into lines; a mapped type over the kinds, so a new kind must be handled here. */
const FORMAT: { [K in LogEntry['kind']]: (entry: Extract<LogEntry, { kind: K }>) => string[] } = {
  cmd: (entry) => [`$ ${entry.cmd}`],
  stdout: (entry) => linesOf(entry.data.toString('utf8')),
  stderr: (entry) => linesOf(entry.data.toString('utf8')),
  end: (entry) => (entry.exitCode === 0 ? [] : [`exit ${entry.exitCode ?? entry.signal ?? 'unknown'} after ${Math.round(entry.duration)}ms`]),
  cd: (entry) => [`cd ${entry.dir}`],
  fetch: (entry) => [`fetch ${String(entry.url)}`],
  retry: (entry) => [`retry ${entry.attempt}/${entry.total}${entry.error ? `: ${entry.error}` : ''}`],
  custom: (entry) => [String(entry.data)],
  kill: (entry) => [`kill ${entry.pid} ${entry.signal ?? ''}`.trim()],
};

/** A chunk's lines without its final newline; a chunk can end mid-line, which is then logged as is. */
export function linesOf(text: string): string[] {
  const body = text.replace(/\r?\n$/, '');
  // zx ends an output without a final newline with a newline of its own: not a line.
  return body === '' ? [] : body.split(/\r?\n/);
}

/** A log function for zx that writes every entry, verbose or not, to `log` and nothing to the terminal. */
export function zxLogTo(log: (line: string) => void): Options['log'] {
  return (entry: LogEntry) => {
    const format = FORMAT[entry.kind] as (e: LogEntry) => string[];
    for (const line of format(entry)) log(line);
  };
}

/**
 * zx's `$` bound to the run. Every call runs with these options, also inside callbacks and timers
 * (zx keeps its options in async-local storage, which a later call outside would not see).
 */
export function boundShell(options: BoundShellOptions): BoundShell {
  const base: Partial<Options> = {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    signal: options.signal,
    // verbose so every command and its output reach the log; the log function keeps them off the terminal.
    verbose: true,
    quiet: false,
    log: zxLogTo(options.log),
  };
  const bind = (overrides: Partial<Options>): BoundShell => {
    const shell = (first: TemplateStringsArray | Partial<Options>, ...args: unknown[]) => {
      if (Array.isArray(first)) return $({ ...base, ...overrides })(first as TemplateStringsArray, ...args);
      return bind({ ...overrides, ...(first as Partial<Options>) });
    };
    return shell as BoundShell;
  };
  return bind({});
}
