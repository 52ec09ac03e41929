import type { StormSaturation } from '../../0-model/workload-result.ts';

/** One second of an open-model storm, as the saturation check reads it. */
export interface SecondLoad {
  second: number;
  intended: number;
  started: number;
  dropped: number;
  /** How late the driver started this second's sessions: p99 of (actual start - intended start). */
  lagP99Ms: number;
  /** The server's connect latency, from each session's actual start to its login, p99 (undefined: none connected). */
  serverConnectP99Ms: number | undefined;
  /** Logins the server refused this second (an ERR packet, e.g. 1040). */
  refused: number;
}

/** The driver is behind when it starts under 98% of the intended arrivals of a second, or starts them this late. */
export const DRIVER_LAG_LIMIT_MS = 100;
/** The server is behind when its connect p99 from the actual start passes a second: arrivals queue in its backlog. */
export const SERVER_CONNECT_LIMIT_MS = 1_000;

/**
 * The first second in which either side stopped keeping up, and which side: the driver (it started fewer
 * sessions than intended with room to start them, or started them late) or the server (sessions piled up
 * to the in-flight cap, its logins took over a second, or it refused them). A tie is the driver's: its lag
 * makes every later figure unreliable. Undefined when both kept up.
 */
export function saturationOf(seconds: readonly SecondLoad[]): StormSaturation | undefined {
  for (const s of seconds) {
    if (s.intended === 0) continue;
    const driver: string[] = [];
    if (s.dropped === 0 && s.started < s.intended * 0.98) driver.push(`started ${s.started} of ${s.intended} intended sessions`);
    if (s.lagP99Ms > DRIVER_LAG_LIMIT_MS) driver.push(`started sessions ${Math.round(s.lagP99Ms)} ms late (p99)`);
    const server: string[] = [];
    if (s.dropped > 0) server.push(`${s.dropped} arrivals dropped at the in-flight cap`);
    if (s.serverConnectP99Ms !== undefined && s.serverConnectP99Ms > SERVER_CONNECT_LIMIT_MS) server.push(`connect p99 ${Math.round(s.serverConnectP99Ms)} ms from the actual start`);
    if (s.refused > 0) server.push(`${s.refused} logins refused`);
    if (driver.length === 0 && server.length === 0) continue;
    const side = driver.length > 0 ? 'driver' : 'server';
    return { side, second: s.second, intendedPerSecond: s.intended, why: (side === 'driver' ? driver : server).join(', ') };
  }
  return undefined;
}
