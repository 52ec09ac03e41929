// The `run` step: the author's own async function, given zx's `$` bound to the run and `container.$`
// for the named instance (its client logged in as root) and `sql` on it; what its commands print is
// the step's output, kept to its last 4 KB.
import { createConnection, type Connection } from 'mysql2/promise';
import { describeError, FaultFailedError } from '../../../0-model/errors.ts';
import type { SqlRow, SqlTag, StepAction, StepRunContext } from '../../../1-scenario/steps.ts';
import type { StartedInstance } from '../../runtime.ts';
import { containerShell } from '../container-shell.ts';
import { boundShell } from '../host-shell.ts';
import { instanceNamed, type AppliedFault, type FaultTarget } from './target.ts';

export const OUTPUT_KEEP_CHARS = 4_096;

/** A step without `instance` has no container: using it says so rather than failing on `undefined`. */
const NO_CONTAINER: StepRunContext['container'] = {
  $: () => Promise.reject(new FaultFailedError("container.$ needs the step to name an instance (`instance: 'a'`)")),
  id: '',
  name: '',
};

const NO_SQL: SqlTag = () => Promise.reject(new FaultFailedError("sql needs the step to name an instance (`instance: 'a'`)"));
const SQL_CONNECT_TIMEOUT_MS = 10_000;

/** The statement as a reader sees it in the log: `?` where each value is bound. */
export function sqlText(pieces: TemplateStringsArray): string {
  return pieces.join('?').replace(/\s+/g, ' ').trim();
}

/** `sql` on one instance: one connection for the step, opened on first use; `close` ends it. */
export function sqlOn(instance: Pick<StartedInstance, 'endpoint'>, name: string, log: (line: string) => void, signal: AbortSignal): { sql: SqlTag; close: () => Promise<void> } {
  let connection: Promise<Connection> | undefined;
  const sql: SqlTag = async (pieces, ...values) => {
    signal.throwIfAborted();
    connection ??= createConnection({ ...instance.endpoint(), connectTimeout: SQL_CONNECT_TIMEOUT_MS });
    const text = sqlText(pieces);
    log(`[${name}] sql> ${text}`);
    const [rows] = await (await connection).query({ sql: pieces.join('?'), values });
    const result = Array.isArray(rows) ? (rows as SqlRow[]) : [];
    log(`[${name}] ${Array.isArray(rows) ? `${result.length} row${result.length === 1 ? '' : 's'}` : `${(rows as { affectedRows?: number }).affectedRows ?? 0} affected`}`);
    return result;
  };
  return {
    sql,
    close: async () => {
      if (connection) await connection.then((c) => c.end()).catch(() => {});
    },
  };
}

/** What a `run` step's function receives: the scenario stage's type, so scenario files type-check against it. */
export type StepContext = StepRunContext;

/** A failed `run` step: its message, with what its commands printed as evidence. */
export class StepRunFailedError extends FaultFailedError {
  readonly output: string;
  constructor(message: string, output: string, options?: { cause?: unknown }) {
    super(message, options);
    this.output = output;
  }
}

/** The root login, or none when the server never published its port (it died at start-up). */
function loginOf(instance: StartedInstance): { user: string; password: string } | undefined {
  try {
    const { user, password } = instance.endpoint();
    return { user, password };
  } catch {
    return undefined;
  }
}

function keepTail(text: string): string {
  return text.length <= OUTPUT_KEEP_CHARS ? text : `…${text.slice(-OUTPUT_KEEP_CHARS)}`;
}

export async function runStep(action: Extract<StepAction, { action: 'run' }>, target: FaultTarget): Promise<AppliedFault> {
  let output = '';
  const log = (line: string) => {
    output = keepTail(`${output}${line}\n`);
    target.log(line);
  };
  const instance = action.instance === undefined ? undefined : instanceNamed(target, action.instance);
  const name = action.instance ?? '';
  const database = instance ? sqlOn(instance, name, log, target.signal) : undefined;
  const context: StepContext = {
    $: boundShell({ cwd: target.cwd, signal: target.signal, log }),
    container: instance
      ? { $: containerShell(target.engine, instance.containerId, { signal: target.signal, log, name, login: () => loginOf(instance) }), id: instance.containerId, name: instance.containerName }
      : NO_CONTAINER,
    sql: database?.sql ?? NO_SQL,
    instance,
    log,
    signal: target.signal,
  };
  try {
    await action.run(context);
  } catch (error) {
    throw new StepRunFailedError(`run step failed: ${describeError(error).split('\n')[0]}`, output, { cause: error });
  } finally {
    await database?.close();
  }
  return { detail: `run${action.instance ? ` on ${action.instance}` : ''}: ${output.trim().split('\n').length} line${output.trim().split('\n').length === 1 ? '' : 's'} of output`, output };
}
