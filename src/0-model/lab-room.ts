// The room a lab VM's run had (LabShape.roomMiB), one figure for the signature and the answer's ranking.
import type { LabHostFacts } from './host.ts';

/** In bytes: what was left after the ballast, or all the guest had when it had no more than the room; none without a room. */
export function labRoomBytes(lab: LabHostFacts | undefined): number | undefined {
  const room = lab?.room;
  const mib = room ? (room.ballastMiB > 0 ? (room.leftMiB ?? room.roomMiB) : room.availableMiB) : undefined;
  return mib !== undefined ? mib * 1024 * 1024 : undefined;
}

/**
 * What a booted lab guest's own system keeps from its memory, at most: its kernel's reserve and its daemons, growing
 * with the memory (`mib` + `share` × memory). Measured as the guest's memory less its MemAvailable once it answered
 * (lab room, TCG, 2026-12-07): 247 MiB of 656, 553 of 6000; 210 MiB + 6 % is above both. It sizes a VM that leaves a
 * room, and what a neighbours scenario leaves the guest.
 */
export const LAB_GUEST_OWN = { mib: 210, share: 0.06 } as const;

/** LAB_GUEST_OWN for a guest of that memory, in bytes. */
export const labGuestOwnBytes = (memoryBytes: number): number => LAB_GUEST_OWN.mib * 1024 * 1024 + LAB_GUEST_OWN.share * memoryBytes;
