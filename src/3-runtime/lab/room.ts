// A lab VM's room (LabShape.roomMiB): what the guest has available once booted, less the room, is held by a ballast,
// so the server meets the memory production's server met on a machine that also ran other things.
import type { LabRoomFacts } from '../../0-model/host.ts';
import type { AgentNode } from './agent.ts';

/** The ballast's own interpreter beside what it holds: measured 10 768 kB of RssAnon (python3 3.11, a 256 MiB ballast). */
const BALLAST_OWN_MIB = 10;

/** `MemAvailable` of /proc/meminfo in MiB, or undefined when the file has none. */
export function availableMiB(meminfo: string): number | undefined {
  const kb = /^MemAvailable:\s+(\d+) kB$/m.exec(meminfo)?.[1];
  return kb === undefined ? undefined : Math.floor(Number(kb) / 1024);
}

/** The ballast that leaves `roomMiB` available: none when the guest has no more than the room (and its own interpreter) to give. */
export function ballastMiB(available: number, roomMiB: number): number {
  return Math.max(0, available - roomMiB - BALLAST_OWN_MIB);
}

/** Holds the ballast that leaves the shape's room, and says what was available before and after. */
export async function holdRoom(node: AgentNode, roomMiB: number, progress: (line: string) => void): Promise<LabRoomFacts> {
  const read = async () => availableMiB((await node.readFile('/proc/meminfo')) ?? '');
  const before = await read();
  if (before === undefined) return { roomMiB, ballastMiB: 0, why: "the guest's /proc/meminfo had no MemAvailable" };
  const ballast = ballastMiB(before, roomMiB);
  if (ballast === 0) {
    progress(`lab room: the guest had ${before} MiB available, no more than the ${roomMiB} MiB room asked: no ballast (a larger memory= would leave the room exact)`);
    return { roomMiB, availableMiB: before, ballastMiB: 0, leftMiB: before, why: `the guest had only ${before} MiB available` };
  }
  await node.hold(ballast);
  const after = (await read()) ?? before - ballast;
  progress(`lab room: ${after} MiB left available (${roomMiB} MiB asked): a ballast holds ${ballast} MiB of the ${before} MiB the guest had`);
  return { roomMiB, availableMiB: before, ballastMiB: ballast, leftMiB: after };
}
