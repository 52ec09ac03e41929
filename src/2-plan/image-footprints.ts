// What a server image holds in anonymous memory, measured on the image itself by bench/memory-footprint.ts:
// the constants of the expected-peak model (expected-peak.ts). docs/memory-model.md keeps the runs' output.
import type { ServerFamily, ServerVariables } from './server-profiles.ts';

/** One image's measured figures, all cgroup anonymous memory (memory.stat total_rss), and where they come from. */
export interface ImageFootprint {
  family: ServerFamily;
  /** `major.minor`, as serverFamilyOf reads the tag. */
  version: string;
  /** The image and the server's @@version the figures were measured on. */
  image: string;
  serverVersion: string;
  /** Anonymous memory 3 s after the server is ready, no data, no client, with `startUpAt`. */
  startUpBytes: number;
  /** The settings `startUpBytes` was measured with (the rest at the server's defaults). */
  startUpAt: { openFilesLimit: number } & Partial<Record<keyof ServerVariables, number>>;
  /** Anonymous bytes per byte of each setting at start-up (the pool's descriptors, buffers zeroed when allocated); per slot for max_connections. */
  startUpPerByte: Partial<Record<keyof ServerVariables, number>>;
  /** Anonymous bytes the buffer pool holds per seeded feed row once the rows are in (the data, its indexes, the page descriptors). */
  poolBytesPerSeededRow: number;
  /** Anonymous bytes the pool holds per byte of pool filled by a warm-up. */
  poolBytesPerWarmByte: number;
  /** What one connection adds while it holds a session and runs nothing. */
  idleConnectionBytes: number;
  /**
   * What one connection adds while it runs the feed mix: `busyBaseBytes` + `busyBufferShare` × its buffers at their
   * maximum (perConnectionParts + one in-memory temporary table): the share of its buffers a statement really fills.
   */
  busyBaseBytes: number;
  busyBufferShare: number;
  /**
   * What the allocator adds once statements run in many threads at once (glibc: up to 8 arenas per CPU), reached
   * at `busyOnceAt` busy connections and scaled down linearly below: the intercept of busy bytes over connections.
   */
  busyOnceBytes: number;
  busyOnceAt: number;
  /**
   * The most the busy connections hold per CPU the server gets, when more run than its CPUs can serve: a statement's
   * buffers fill as it progresses, so on a saturated server their memory follows the CPUs, not the connections.
   */
  busyBytesPerCpu: number;
  /**
   * What each allocator keeps beyond the statements in flight when the work comes in cycles (bursts with quiets
   * between), per allocator measured: `peakShare[n - 1]` is the peak over the first n cycles less the in-flight
   * terms (busy connections + allocator, busy), as a share of the busy connections' bytes; `afterQuietBytes[n - 1]`
   * the anonymous memory left above the seeded server at the end of cycle n's quiet. Beyond the cycles measured the
   * last share holds (it had levelled off). An allocator absent here has no term and says so.
   */
  cycleRetention: Partial<Record<AllocatorKind, CycleRetention>>;
  /** The command and the date of the measurement. */
  source: string;
}

/** An allocator as the model tells them apart: glibc's malloc with its default arenas (8 per CPU) or with MALLOC_ARENA_MAX=2, jemalloc, tcmalloc. */
export type AllocatorKind = 'glibc' | 'glibc-arenas-2' | 'jemalloc' | 'tcmalloc';

export interface CycleRetention {
  peakShare: readonly number[];
  afterQuietBytes: readonly number[];
  /** The work the figures were measured with, and the command. */
  measured: string;
}

const MiB = 1024 ** 2;

// bench/allocator-cycles.ts, 2026-12-07: allocator-retention's work (30 sessions of 3 statements in flight, sorts
// filling sort_buffer_size 4M and GROUP BYs filling a 32M in-memory temporary table; 5 s bursts, 12 s quiets), five
// cycles under a 4 GiB limit, the three servers at once. The in-flight terms for that work: 30 × 18.06 MiB = 541.8
// MiB busy + 113 MiB allocator = 654.8 MiB above the seeded server. Peaks above the seeded server, cycle by cycle:
// glibc 953.2, 1024.8, 1041.6, 1100.8, 1069.5; jemalloc 728.9, 654.6, 702.9, 798.2, 784.2; glibc with 2 arenas
// 715.9, 718.2, 810.2, 761.6, 761.6 MiB. The shares below are the running maximum less 654.8, over 541.8.
const CYCLES_MEASURED = "allocator-retention's sorts (4M) and in-memory GROUP BYs (32M), 30 sessions in flight, 5 s bursts and 12 s quiets: bench/allocator-cycles.ts, 2026-12-07";

/**
 * Measured here: `flock /tmp/oomlab-heavy.lock node --import tsx bench/memory-footprint.ts` (2026-12-06,
 * oomlab/mariadb:10.11, 10.11.x-MariaDB-0+deb12u1, glibc malloc, cgroup v1, 2 cores). The other images the
 * matrix names (10.5, 11.8, MySQL 9.7) were not on this host that day: `docker images` listed only 10.11.
 */
export const IMAGE_FOOTPRINTS: readonly ImageFootprint[] = [
  {
    family: 'mariadb',
    version: '10.11',
    image: 'oomlab/mariadb:10.11',
    serverVersion: '10.11.18-MariaDB-0+deb12u1',
    // Pool 128M, max_connections 1000, nofile 20000: 80416768 and 80474112 B in two runs.
    startUpBytes: 80_445_440,
    startUpAt: { openFilesLimit: 20_000, innodb_buffer_pool_size: 128 * MiB, max_connections: 1_000 },
    // Each setting moved alone from the defaults: pool 32M 78221312, 256M 83009536, 1G 98263040 (least squares);
    // innodb_log_buffer_size 1M 65712128; key_buffer_size 16k 55906304; aria_pagecache_buffer_size 8M 74821632;
    // query_cache_size 0 80371712; max_connections 151 80306176 (per connection slot, not per byte).
    startUpPerByte: {
      innodb_buffer_pool_size: 0.0193,
      innodb_log_buffer_size: 0.9385,
      key_buffer_size: 0.1831,
      aria_pagecache_buffer_size: 0.0449,
      query_cache_size: 0.098,
      max_connections: 198,
    },
    // +20.5, +21.2, +21.1 and +21.7 MiB for 82000 rows (2000 users, 40000 posts, 40000 follows): 1267-1294 pages of 16 KiB.
    poolBytesPerSeededRow: 270,
    // Not measured: a page the warm-up fills is resident whole.
    poolBytesPerWarmByte: 1,
    // 200 idle connections: +11.3, +13.4, +13.4 and +11.0 MiB.
    idleConnectionBytes: 63 * 1024,
    // Busy, feed mix: incident-era buffers (78.6 MiB at their maximum) 25 → +949.1 MiB, 100 → +3500.2 MiB;
    // sized (3.5 MiB) 25 → +165.4, 100 → +281.2: slopes 34.0 and 1.54 MiB a connection, intercepts 99 and 127 MiB.
    busyBaseBytes: 63 * 1024,
    busyBufferShare: 0.432,
    busyOnceBytes: 113 * MiB,
    busyOnceAt: 16,
    // 200 busy connections with the incident-era buffers pinned to one CPU (--cpuset 1): +3791.2 MiB, less the allocator's 113.
    busyBytesPerCpu: 3678 * MiB,
    cycleRetention: {
      glibc: { peakShare: [0.551, 0.683, 0.714, 0.823, 0.823], afterQuietBytes: [910.5, 1005.2, 1031.6, 1056.9, 1058.9].map((m) => Math.round(m * MiB)), measured: CYCLES_MEASURED },
      'glibc-arenas-2': { peakShare: [0.113, 0.117, 0.287, 0.287, 0.287], afterQuietBytes: [715.9, 718.2, 716.3, 761.6, 761.6].map((m) => Math.round(m * MiB)), measured: CYCLES_MEASURED },
      jemalloc: { peakShare: [0.137, 0.137, 0.137, 0.265, 0.265], afterQuietBytes: [467.7, 458.3, 465.9, 509.0, 518.2].map((m) => Math.round(m * MiB)), measured: CYCLES_MEASURED },
    },
    source: 'bench/memory-footprint.ts on oomlab/mariadb:10.11 (10.11.18-MariaDB-0+deb12u1, glibc), 2026-12-06',
  },
];

/** The measured footprint of this family and version, or undefined: the expected peak then says the image was not measured. */
export function imageFootprint(family: ServerFamily, version: string): ImageFootprint | undefined {
  return IMAGE_FOOTPRINTS.find((f) => f.family === family && f.version === version);
}
