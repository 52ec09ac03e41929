// `container.$`: zx's tagged template run inside a container through the Docker exec API, with
// zx's quoting, its `set -euo pipefail`, and a rejection that carries the output as zx's does; the
// server's client finds the run's root login in its option file.
import { StringDecoder } from 'node:string_decoder';
import { quote } from 'zx';
import { ShellFailedError } from '../../0-model/errors.ts';
import type { Engine } from './engine.ts';
import { linesOf } from './host-shell.ts';

import type { ContainerShell, ContainerShellResult } from '../../1-scenario/steps.ts';

export type { ContainerShell, ContainerShellResult };

export interface ContainerShellOptions {
  signal: AbortSignal;
  /** Receives the command and each line of its output, prefixed with the container's name. */
  log: (line: string) => void;
  /** Shown in logs and errors. @default the container id's first 12 characters */
  name?: string;
  /** The server's root login: written once as the client's option file, so `mariadb -e …` and `mysql -e …` log in. @default none */
  login?: () => ServerLogin | undefined;
}

export interface ServerLogin {
  user: string;
  password: string;
}

/** Where the login goes: the user option file both clients read by default (`~/.my.cnf`), as MySQL's WL#13449 advises over MYSQL_PWD. */
const CLIENT_LOGIN_SCRIPT = 'test -e "$HOME/.my.cnf" || { umask 077 && printf %s "$OOMLAB_CLIENT_CNF" > "$HOME/.my.cnf"; }';

/** The `[client]` option file for a login, its values quoted as both clients read `"…"`. */
export function clientOptionFile(login: ServerLogin): string {
  const quoted = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return `# written by oomlab: the server's root login for this run's steps\n[client]\nuser = ${quoted(login.user)}\npassword = ${quoted(login.password)}\n`;
}

/** Writes the login into the container unless it has its own `~/.my.cnf`; the password travels in the exec's environment, never in a command or a log. */
async function installClientLogin(engine: Engine, containerId: string, login: ServerLogin, signal: AbortSignal): Promise<string | undefined> {
  const result = await execIn(engine, containerId, ['/bin/sh', '-c', CLIENT_LOGIN_SCRIPT], signal, undefined, [`OOMLAB_CLIENT_CNF=${clientOptionFile(login)}`]);
  return result.exitCode === 0 ? undefined : `could not write the client's login to ~/.my.cnf (exit ${result.exitCode}): ${linesOf(result.stderr.trim()).at(-1) ?? 'no message'}`;
}

/** Single quotes, as every POSIX sh reads them; zx's `quote` writes bash's `$'…'`, which dash rejects. */
export function quotePosix(arg: string): string {
  if (arg === '') return "''";
  if (/^[\w/.\-@:=]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command text, every interpolation quoted as one word (arrays as one word each), as zx builds it. */
export function buildCommand(pieces: TemplateStringsArray, args: unknown[], quoteArg: (arg: string) => string): string {
  let command = pieces[0] ?? '';
  args.forEach((arg, i) => {
    const words = (Array.isArray(arg) ? arg : [arg]).map((word) => quoteArg(stringOf(word)));
    command += words.join(' ') + (pieces[i + 1] ?? '');
  });
  return command;
}

function stringOf(value: unknown): string {
  if (typeof value === 'string') return value;
  // A ProcessOutput or a container result: its stdout without the final newline, as zx does.
  if (value && typeof value === 'object' && 'stdout' in value) return String((value as { stdout: unknown }).stdout).replace(/\n$/, '');
  return String(value);
}

/** Which shell the image has: bash (zx's own, with its quoting), else POSIX sh. */
async function shellOf(engine: Engine, containerId: string): Promise<{ argv: string[]; quote: (arg: string) => string }> {
  const probe = await execIn(engine, containerId, ['test', '-x', '/bin/bash'], new AbortController().signal);
  return probe.exitCode === 0 ? { argv: ['/bin/bash', '-c'], quote } : { argv: ['/bin/sh', '-c'], quote: quotePosix };
}

/** Runs `argv` in the container and collects its output; on abort the process is killed and the promise rejects. */
async function execIn(
  engine: Engine,
  containerId: string,
  argv: string[],
  signal: AbortSignal,
  onChunk?: (stream: 'stdout' | 'stderr', text: string) => void,
  env?: string[],
): Promise<{ stdout: string; stderr: string; exitCode: number | null }> {
  signal.throwIfAborted();
  const exec = await engine.api.getContainer(containerId).exec({ Cmd: argv, AttachStdout: true, AttachStderr: true, ...(env ? { Env: env } : {}) });
  const stream = await engine.streams.getExec(exec.id).start({ hijack: true, stdin: false });
  const out = { stdout: '', stderr: '' };
  // Docker frames each chunk (no TTY): 1 byte stream (1 out, 2 err), 3 zero, 4 bytes length, then the data.
  let pending = Buffer.alloc(0);
  // A character split across two frames is decoded whole.
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  stream.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 8 && pending.length >= 8 + pending.readUInt32BE(4)) {
      const size = pending.readUInt32BE(4);
      const name = pending[0] === 2 ? 'stderr' : 'stdout';
      const text = decoders[name].write(pending.subarray(8, 8 + size));
      pending = pending.subarray(8 + size);
      out[name] += text;
      onChunk?.(name, text);
    }
  });
  const onAbort = () => {
    // The exec API has no kill: the process is killed by its host pid, then the stream dropped.
    void exec
      .inspect()
      .then((info) => info.Pid > 0 && process.kill(info.Pid, 'SIGKILL'))
      .catch(() => {})
      .finally(() => stream.destroy());
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (signal.aborted) return { ...out, exitCode: null };
  return { ...out, exitCode: (await exec.inspect()).ExitCode };
}

/** `container.$\`cmd ${arg}\``: resolves with the output, rejects with ShellFailedError on a non-zero exit or a cancel. */
export function containerShell(engine: Engine, containerId: string, options: ContainerShellOptions): ContainerShell {
  const name = options.name ?? containerId.slice(0, 12);
  let shell: ReturnType<typeof shellOf> | undefined;
  let loggedIn: Promise<void> | undefined;
  return async (pieces, ...args) => {
    shell ??= shellOf(engine, containerId);
    const { argv, quote: quoteArg } = await shell;
    const login = options.login?.();
    loggedIn ??= login
      ? installClientLogin(engine, containerId, login, options.signal).then((problem) => {
          if (problem) options.log(`[${name}] ${problem}`);
        })
      : Promise.resolve();
    await loggedIn;
    const command = buildCommand(pieces, args, quoteArg);
    options.log(`[${name}] $ ${command}`);
    // zx's own prefix on bash; plain sh has no pipefail.
    const prefix = argv[0] === '/bin/bash' ? 'set -euo pipefail;' : 'set -eu;';
    const result = await execIn(engine, containerId, [...argv, `${prefix}${command}`], options.signal, (_, text) => {
      for (const line of linesOf(text)) options.log(`[${name}] ${line}`);
    });
    if (result.exitCode === 0) return { ...result, exitCode: 0 };
    const why = result.exitCode === null ? 'was cancelled' : `exited with ${result.exitCode}`;
    const lastLine = linesOf(result.stderr.trim()).at(-1);
    options.log(`[${name}] ${why}`);
    throw new ShellFailedError(`\`${command}\` in ${name} ${why}${lastLine ? `: ${lastLine}` : ''}`, result);
  };
}
