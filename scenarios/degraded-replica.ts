// Incident 2 (docs/incidents.md), with its degradation done live on a timeline: replicas A and B behind
// the app tier, B alone on its host. Once every instance is ready and the scraping burst has begun, A's
// link loses packets, the host's page cache is dropped, A's memory limit is lowered on the live container, a
// neighbour starts taking memory on A's host, and THP is switched off mid-burst as the DBA did. Each
// fault is undone at the end of the configuration. The axes: how far A's limit is lowered, and the
// allocator. The report shows which configurations survive.
import { defineScenario } from 'oomlab';
import { INCIDENT_ERA_BUFFERS } from './lib/buffers.ts';
import { scrapingBurst } from './lib/burst.ts';
import { serverFlavour } from './lib/servers.ts';

/**
 * A's limit once lowered. `tight`: above the 0.9–1.1 GiB A holds 5 s into the burst (measured: a lower
 * limit is refused, the kernel cannot reclaim down to it), far below the 2.5 GiB it reaches later.
 * `modest`: above the 5.4 GiB A peaks at under this burst with room (scenarios/scraping-burst.ts, roomy).
 */
const LOWERED = { tight: '1400m', modest: '7g' } as const;

export default defineScenario({
  name: 'degraded-replica',
  incident: "Incident 2, degraded live: the scraping burst hits while replica A's link loses packets, its memory limit is lowered and a neighbour takes memory on its host",
  matrix: {
    image: ['oomlab/mariadb:10.11'],
    balancer: ['fastest'],
    lowered: ['tight', 'modest'],
    allocator: ['glibc', 'jemalloc'],
  },
  host: () => ({
    thp: 'always',
    sides: {
      // A's host: A (whatever its own limit) and the 640 MiB neighbour the timeline starts there.
      'host-a': { memory: '9g' },
      'host-b': { memory: '12g' },
    },
  }),
  instances: (c) => {
    const server = {
      image: c.image,
      allocator: c.allocator,
      mycnf: {
        innodb_buffer_pool_size: '256M',
        max_connections: 2000,
        max_connect_errors: 1_000_000,
        ...serverFlavour(c.image).statementTimeout,
        ...INCIDENT_ERA_BUFFERS,
      },
      settleMs: 2_000,
    };
    return {
      // A starts with room: its limit is lowered by the `limit-a` step, on the running server.
      a: { side: 'host-a', cpusetCpus: '0', memory: '8g', ...server },
      b: { side: 'host-b', cpusetCpus: '1', ...server },
    };
  },
  workload: (c) => ({
    ...scrapingBurst(c.balancer, 15_000),
    thresholds: { http_req_duration: ['p(99)>2000'] },
    // Judged from the second A's link started losing packets.
    expect: { after: 'loss-a', ratio: { of: 'b', to: 'a', atLeast: 2 }, because: 'A, losing packets on its link, answers slower and loses clients to B' },
  }),
  // Time zero: every instance ready, the burst starting.
  steps: (c) => [
    // A answers slower (lost segments wait for TCP's retransmission), so the `fastest` balancer moves clients
    // to B, as on the incident's busier host. Loss, not netem's delay: it works on kernels without sch_netem.
    { name: 'loss-a', at: '2s', action: 'network', instance: 'a', loss: '10%' },
    // The page cache A's host had is gone: InnoDB reads go to disk while the burst grows.
    { name: 'drop-caches', at: '4s', action: 'drop-caches' },
    { name: 'limit-a', at: '5s', action: 'limit', instance: 'a', memory: LOWERED[c.lowered] },
    { name: 'neighbour', after: 'limit-a', at: '1s', action: 'neighbour', memory: '640m', image: c.image, side: 'host-a', cpusetCpus: '0' },
    // The incident's first fix, applied live: THP off while the burst is on.
    { name: 'thp-off', at: '12s', action: 'thp', mode: 'never' },
  ],
  expect: (c) =>
    c.lowered === 'tight'
      ? {
          a: {
            outcome: 'oom-killed-under-load',
            because: `A's lowered ${LOWERED.tight} cannot hold its share of the growing burst (allocator ${c.allocator}); measured: the kill comes within a second or two of the limit`,
            afterStep: 'limit-a',
            oomKilledWithin: { of: 'limit-a', ms: 15_000 },
          },
          b: { outcome: 'survived', because: 'B has its own host and takes the clients A loses' },
        }
      : {
          a: { outcome: 'survived', because: `with ${LOWERED.modest} A carries its share of the burst beside the neighbour` },
          b: { outcome: 'survived', because: 'B has its own host' },
        },
});
