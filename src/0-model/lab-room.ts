// The room a lab VM's run had (LabShape.roomMiB), one figure for the signature and the answer's ranking.
import type { LabHostFacts } from './host.ts';

/** In bytes: what was left after the ballast, or all the guest had when it had no more than the room; none without a room. */
export function labRoomBytes(lab: LabHostFacts | undefined): number | undefined {
  const room = lab?.room;
  const mib = room ? (room.ballastMiB > 0 ? (room.leftMiB ?? room.roomMiB) : room.availableMiB) : undefined;
  return mib !== undefined ? mib * 1024 * 1024 : undefined;
}
