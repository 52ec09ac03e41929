import type { StormConnection } from '../wire/lean-connection.ts';
import { recordMs } from '../measure.ts';
import type { StormTally } from './tally.ts';

/** Statements per session, think time, idle hold: what a storm's sessions do once connected. */
export interface SessionShape {
  /** Statements per session. @default 5 */
  queries: number;
  /** Pause between statements, as an API handler would take. @default 0 */
  thinkMs: number;
  /** Stay connected and idle this long after the last statement: a pile-up of idle connections. @default 0 */
  holdMs: number;
}

/** What a session needs of the storm it runs in. */
export interface SessionHost {
  readonly tally: StormTally;
  readonly shape: SessionShape;
  readonly queryTimeoutMs: number;
  /** The drain time is over: sessions end where they are. */
  readonly cutting: boolean;
  readonly signal: AbortSignal;
  elapsed(): number;
  newConnection(): StormConnection;
  /** The server asked the lean path for a login it does not speak: true once the storm has switched to mysql2. */
  fallBack(error: unknown): boolean;
  /** The next statement of the mix, parameters filled in (it may throw). */
  nextStatement(): string;
  /** The session is over, with the error that ended it (counted) or none. */
  ended(session: StormSession, error?: unknown): void;
}

/**
 * One session: connect, statements with think time, hold, COM_QUIT. Driven by the connection's callbacks,
 * one wait at a time, without a promise or a closure per step: a storm runs thousands of sessions a second,
 * and an async function per session cost about a third of the driver's CPU per connect-and-quit session.
 */
export class StormSession {
  connection: StormConnection | undefined;
  /** What the session waits for; undefined once it has ended (a late callback is then ignored). */
  waiting: 'io' | 'pause' | undefined = 'io';
  queriesRun = 0;
  holding = false;
  sentAt = 0;
  timer: ReturnType<typeof setTimeout> | undefined;
  readonly startedSecond: number;

  constructor(
    readonly host: SessionHost,
    readonly intendedMs: number,
    readonly startedMs: number,
  ) {
    this.startedSecond = host.tally.secondOf(startedMs).second;
    // Bound once: the connection calls them back.
    this.connected = this.connected.bind(this);
    this.answered = this.answered.bind(this);
    this.paused = this.paused.bind(this);
    this.quitted = this.quitted.bind(this);
    host.tally.connects.expect(this.startedSecond);
  }

  connect(): void {
    this.connection = this.host.newConnection();
    this.connection.connect(this.connected);
  }

  connected(error?: unknown): void {
    if (this.waiting !== 'io') return;
    const { tally } = this.host;
    if (error) {
      this.connection!.destroy();
      this.connection = undefined;
      if (this.host.fallBack(error)) {
        this.connect();
        return;
      }
      tally.connects.settle(this.startedSecond);
      if ((error as { code?: string }).code?.startsWith('ER_')) tally.refused(this.host.elapsed());
      this.end(error);
      return;
    }
    tally.connected(this.intendedMs, this.startedMs, this.startedSecond, this.host.elapsed());
    this.next();
  }

  /** The next statement, the hold, or the quit. */
  next(): void {
    if (this.queriesRun < this.host.shape.queries && !this.host.signal.aborted && !this.host.cutting) this.query();
    else if (this.host.shape.holdMs > 0 && !this.holding) {
      this.holding = true;
      this.pause(this.host.shape.holdMs);
    } else this.quit();
  }

  query(): void {
    try {
      const sql = this.host.nextStatement();
      this.waiting = 'io';
      this.sentAt = performance.now();
      this.connection!.query(sql, this.host.queryTimeoutMs, this.answered);
    } catch (error) {
      this.host.tally.counts.queriesFailed++;
      this.end(error);
    }
  }

  answered(error?: unknown): void {
    if (this.waiting !== 'io') return;
    if (error) {
      this.host.tally.counts.queriesFailed++;
      this.end(error);
      return;
    }
    this.host.tally.answered(performance.now() - this.sentAt, this.host.elapsed());
    this.queriesRun++;
    if (this.host.shape.thinkMs > 0) this.pause(this.host.shape.thinkMs);
    else this.next();
  }

  pause(ms: number): void {
    if (this.host.signal.aborted || this.host.cutting) {
      this.next();
      return;
    }
    this.waiting = 'pause';
    this.timer = setTimeout(this.paused, ms);
  }

  /** The pause is over, or cut short by a cancel. */
  paused(): void {
    if (this.waiting !== 'pause') return;
    clearTimeout(this.timer);
    this.waiting = 'io';
    this.next();
  }

  quit(): void {
    if (this.host.cutting) {
      this.end(CUT);
      return;
    }
    // COM_QUIT, as a real client closes: a bare socket close leaves the server an aborted client to clean up.
    this.waiting = 'io';
    this.connection!.quit(this.quitted);
  }

  quitted(): void {
    if (this.waiting !== 'io') return;
    this.host.tally.counts.completed++;
    recordMs(this.host.tally.histograms.session, this.host.elapsed() - this.intendedMs);
    this.end();
  }

  /** Ends the session once, with the error that ended it (counted) or none. */
  end(error?: unknown): void {
    if (this.waiting === undefined) return;
    this.waiting = undefined;
    clearTimeout(this.timer);
    this.host.ended(this, error);
    this.connection?.destroy();
  }
}

/** The error of a session cut at the end of the drain time (counted as unfinished, not as an error). */
export const CUT = new Error('storm drain time over');
