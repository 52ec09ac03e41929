import { removeAbandonedGuestBuilds } from './guest.ts';
import { LAB_MIN_MEMORY_MIB, LAB_SHAPES, labMemoryForRoom, labShapeOf } from './shape.ts';
import { labSurvey } from './survey.ts';
import { removeAbandonedLabs, type LabLeftover } from './vm.ts';

export * from './shape.ts';
export * from './agent.ts';
export * from './vm.ts';
export * from './accel.ts';
export * from './guest.ts';
export * from './survey.ts';
export * from './runtime.ts';
export * from './image-disk.ts';
export * from './room.ts';

/** What the stages above reach of the lab through 3-runtime's entry, until it is a `Runtime` of its own. */
export const labHost = {
  shapes: LAB_SHAPES,
  shapeOf: labShapeOf,
  /** The least memory a lab VM boots with. */
  minMemoryMiB: LAB_MIN_MEMORY_MIB,
  /** The least guest memory that leaves a room of that many MiB (LabShape.roomMiB). */
  memoryForRoom: labMemoryForRoom,
  /** `oomlab doctor`: qemu, the guest, kvm or tcg, and which shapes fit this host. */
  survey: labSurvey,
  /** `oomlab clean`: lab VMs of dead runs (every one with `all`) and guest builds whose builder died. */
  async removeAbandoned(options: { all?: boolean } = {}): Promise<{ vms: LabLeftover[]; guestBuilds: string[] }> {
    return { vms: await removeAbandonedLabs(options), guestBuilds: await removeAbandonedGuestBuilds() };
  },
};
