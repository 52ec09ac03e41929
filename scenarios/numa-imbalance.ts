// Incident 2, second round (docs/incidents.md): NUMA. Replica A's host has two nodes; A's memory is on
// node 1, which also holds a second instance's memory, while node 0 has room. A scraping burst opens
// connection after connection, each holding memory on A; node 1 runs out and the OOM killer takes A
// although the host as a whole (`free`) still has memory: node 0 keeps more than 1 GiB free.
// The fixes the incident names: `numactl --interleave=all` for mysqld, and no binding to one node.
//
// Needs a host with two NUMA nodes, node 1 the smaller: `--host lab:numa2-uneven` (docs/lab.md). On a
// one-node host every configuration is skipped (`1 NUMA node`).
import { defineScenario, memoryNeighbour } from 'oomlab';

/**
 * What a scraper's statement holds on A while it runs: an 8 MiB string and its copy in a user variable, for
 * the 20 s the statement sleeps. Measured in the lab guest: about 26 MiB of A's memory a session.
 */
const HOLD_SQL = "SELECT LENGTH(@hold := REPEAT('x', 8388608)), SLEEP(20)";

export default defineScenario({
  name: 'numa-imbalance',
  incident: 'Incident 2, second round: replica A bound to NUMA node 1, which a second instance shares, is OOM-killed under a connection burst while node 0 still has more than 1 GiB free',
  matrix: {
    image: ['oomlab/mariadb:10.11'],
    // bound: docker --cpuset-mems=1 (A's memory only on node 1); interleave: numactl --interleave=all;
    // unbound: --cpuset-mems=0,1, the default local policy with A's CPU on node 1, free to spill to node 0.
    policy: ['bound', 'interleave', 'unbound'],
  },
  instances: (c) => ({
    a: {
      image: c.image,
      // A runs on node 1's CPU in every configuration: local allocation starts on node 1.
      cpusetCpus: '1',
      ...(c.policy === 'bound' ? { cpusetMems: '1' } : c.policy === 'unbound' ? { cpusetMems: '0,1' } : { numa: 'interleave' as const }),
      mycnf: { innodb_buffer_pool_size: '128M', max_connections: 1000, max_connect_errors: 1_000_000 },
      settleMs: 2_000,
    },
    // The second instance on A's host: its memory sits on node 1 and stays there.
    neighbour: memoryNeighbour({ memory: '320m', image: c.image, cpusetCpus: '1', cpusetMems: '1', busy: false }),
  }),
  workload: () => ({
    kind: 'storm',
    target: 'a',
    // The statement needs no rows: a token seed, since seeding 40 000 posts took 25 s of the guest's time.
    seed: { users: 10, posts: 10, followsPerUser: 1 },
    // 8 new sessions a second for 15 s, each holding its memory for 20 s: 60 at once (maxInFlight), about 1.5 GiB on A.
    // At 4 a second and 40 at once (first lab run), node 1 sat at its low watermark for a minute in direct reclaim, with
    // every statement timing out and no kill; 120 sessions arriving at 10 a second were killed 25–30 s in (by hand).
    startPerSecond: 8,
    stages: [{ targetPerSecond: 8, durationMs: 15_000 }],
    maxInFlight: 60,
    session: { queries: 1, thinkMs: 0, holdMs: 0 },
    mix: [{ name: 'hold', weight: 1, sql: HOLD_SQL }],
    drainMs: 25_000,
  }),
  expect: (c) =>
    c.policy === 'bound'
      ? {
          a: {
            outcome: 'oom-killed-under-load',
            because: 'node 1 runs out under the burst while node 0 has memory: "node0 free 1900 MB, node1 free 20 MB"',
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
