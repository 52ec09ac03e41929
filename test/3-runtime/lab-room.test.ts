// A lab VM's room: the ballast that leaves it, from the guest's MemAvailable, and how the report's host line says it.
import { describe, expect, it } from 'vitest';
import { labHostLine, type LabHostFacts } from '../../src/0-model/host.ts';
import { availableMiB, ballastMiB } from '../../src/3-runtime/lab/room.ts';

// The head of /proc/meminfo as this project's 24 GiB host printed it (2026-12-07, `head -4 /proc/meminfo`).
const MEMINFO = ['MemTotal:       24683772 kB', 'MemFree:        22072776 kB', 'MemAvailable:   23789520 kB', 'Buffers:           59232 kB'].join('\n');

describe('a lab room', () => {
  it('reads MemAvailable in MiB, and holds all but the room and the ballast interpreter', () => {
    expect(availableMiB(MEMINFO)).toBe(23_231);
    expect(availableMiB('MemTotal: 1 kB')).toBeUndefined();
    // minikube#5751's room, 4365 MiB: 5568 − 4365 − 10 for the ballast's own python3.
    expect(ballastMiB(5568, 4365)).toBe(1193);
    expect(ballastMiB(400, 427)).toBe(0);
  });

  it("says the room in the report's host line, and when the guest had no more than it", () => {
    const lab: LabHostFacts = { host: 'lab,room=1g', shape: 'default', accel: 'tcg', accelWhy: 'PVM', bootMs: 51_200, timeScale: 4, vcpus: 2, memoryMiB: 2048, cgroup: 'v2', overcommitMemory: 0 };
    expect(labHostLine({ ...lab, room: { roomMiB: 1024, availableMiB: 1810, ballastMiB: 776, leftMiB: 1022 } })).toContain('room 1022 MiB left available (1024 asked; a ballast held 776 of 1810 MiB)');
    expect(labHostLine({ ...lab, room: { roomMiB: 1024, availableMiB: 900, ballastMiB: 0, leftMiB: 900, why: 'the guest had only 900 MiB available' } })).toContain(
      'room 1024 MiB asked, no ballast: the guest had only 900 MiB available',
    );
  });
});
