// Incident 2, second round (docs/incidents.md): NUMA. Replica A's host has two nodes; A's memory is on
// node 1, which also holds a second instance's memory, while node 0 has room. A scraping burst opens
// connection after connection, each holding memory on A; node 1 runs out and the OOM killer takes A
// although the host as a whole (`free`) still has memory: node 0 keeps more than 1 GiB free.
// The fixes the incident names: `numactl --interleave=all` for mysqld, and no binding to one node.
//
// Needs a host with two NUMA nodes, node 1 the smaller: the scenario runs itself in a lab VM of shape
// `numa2-uneven` (docs/lab.md), whatever `--host` says.
import { defineScenario, memoryNeighbour } from 'oomlab';

/**
 * What a scraper's statement holds on A while it runs: a 16 MiB string and its copy in a user variable, for the
 * 20 s the statement sleeps. Built from 1 KiB pieces: REPEAT copies its argument once per count, and 16 777 216
 * one-byte copies cost a TCG vCPU far more than 16 384 of 1 KiB.
 */
const HOLD_SQL = "SELECT LENGTH(@hold := REPEAT(REPEAT('x', 1024), 16384)), SLEEP(20)";

export default defineScenario({
  name: 'numa-imbalance',
  incident: 'Incident 2, second round: replica A bound to NUMA node 1, which a second instance shares, is OOM-killed under a connection burst while node 0 still has more than 1 GiB free',
  matrix: {
    image: ['oomlab/mariadb:10.11'],
    // bound: docker --cpuset-mems=1 (A's memory only on node 1); interleave: numactl --interleave=all;
    // unbound: --cpuset-mems=0,1, the default local policy with A's CPU on node 1, free to spill to node 0.
    policy: ['bound', 'interleave', 'unbound'],
  },
  // The shape with node 1 the smaller; on a one-node host the incident's first link cannot happen.
  host: () => ({ runtime: 'lab:numa2-uneven' }),
  instances: (c) => ({
    a: {
      image: c.image,
      // A runs on node 1's CPU in every configuration: local allocation starts on node 1.
      cpusetCpus: '1',
      ...(c.policy === 'bound' ? { cpusetMems: '1' } : c.policy === 'unbound' ? { cpusetMems: '0,1' } : { numa: 'interleave' as const }),
      // A 16 MiB result is at max_allowed_packet's default: REPEAT returns NULL above it.
      mycnf: { innodb_buffer_pool_size: '128M', max_connections: 1000, max_connect_errors: 1_000_000, max_allowed_packet: '64M' },
      settleMs: 2_000,
    },
    // The second instance on A's host: its memory sits on node 1 and stays there.
    neighbour: memoryNeighbour({ memory: '320m', image: c.image, cpusetCpus: '1', cpusetMems: '1', busy: false }),
  }),
  workload: (c) => ({
    kind: 'storm',
    target: 'a',
    // The statement needs no rows: a token seed, since seeding 40 000 posts took 25 s of the guest's time.
    seed: { users: 10, posts: 10, followsPerUser: 1 },
    // 6 new sessions a second for 4 s, each holding its memory for 20 s: 24 at once, about 37 MiB each (an unbound A peaked
    // at 1.2 GiB anonymous in the lab). At 4–8 a second with 8 MiB strings (40–60 sessions), every statement timed out at
    // the storm's 30 s before A held the memory, and there was no kill.
    startPerSecond: 6,
    stages: [{ targetPerSecond: 6, durationMs: 4_000 }],
    maxInFlight: 24,
    session: { queries: 1, thinkMs: 0, holdMs: 0 },
    mix: [{ name: 'hold', weight: 1, sql: HOLD_SQL }],
    // Room for the kill: under TCG on a loaded host node 1 sat at its low watermark in direct reclaim for 35 s before the
    // kernel gave up, past a 25 s drain (killed 5 s after the load). Survivors' statements end on their own, 23–27 s each.
    drainMs: 90_000,
    // Each statement sleeps 20 s holding its memory on purpose: for the survivors that, not a 5 s p99, is a served load.
    ...(c.policy === 'bound' ? {} : { expect: { p99Ms: { below: 60_000 }, because: 'each statement holds its memory for 20 s by design' } }),
  }),
  expect: (c) =>
    c.policy === 'bound'
      ? {
          a: {
            outcome: 'oom-killed-under-load',
            because: 'node 1 runs out under the burst while node 0 keeps memory (in production: "node0 free 1900 MB, node1 free 20 MB")',
            numaKill: { constraint: 'cpuset', otherNodesFreeAtLeast: '1g' },
          },
        }
      : {
          a: {
            outcome: 'survived',
            because: c.policy === 'interleave' ? 'numactl --interleave=all spreads A over both nodes' : "A's allocations fall back to node 0 when node 1 is short",
          },
        },
});
