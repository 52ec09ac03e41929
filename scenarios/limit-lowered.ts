// A memory limit lowered under a live server: the platform cuts a running MariaDB's container from
// 2 GiB to 1 GiB (a rollout of new requests/limits, a `docker update`), and nobody shrinks the
// buffer pool sized for the old limit. Nothing happens at once: a fresh pool is reserved, not
// resident. Hours of reads later the pool has filled, and the OOM killer takes mariadbd inside the new
// limit. Here the limit is lowered as soon as the server answers, and the warm-up stands for the reads.
// The fixes: the pool shrunk with the limit, or the limit lowered less. (cgroup v1 refuses a limit below
// what the container holds at that moment; v2 reclaims and kills at once. Lowered before the pool is
// warm, both take it, and the kill comes as the pool fills.)
import { defineScenario } from 'oomlab';
import { steadyTraffic } from './lib/storms.ts';

/** Before: the limit the server was sized for. */
const ORIGINAL_LIMIT = '2g';

/** production: the cut with the old pool; the fixes: the pool shrunk to fit, or the limit cut less. */
const CHANGES = {
  production: { lowered: '1g', pool: '1024M' },
  'pool-shrunk': { lowered: '1g', pool: '512M' },
  'limit-1536m': { lowered: '1536m', pool: '1024M' },
} as const;

export default defineScenario({
  name: 'limit-lowered',
  incident: "A running server's memory limit lowered from 2 GiB to 1 GiB with its 1024M buffer pool left as it was: once reads fill the pool, the OOM killer takes mariadbd",
  matrix: {
    image: ['oomlab/mariadb:10.11'],
    change: ['production', 'pool-shrunk', 'limit-1536m'],
  },
  instances: (c) => ({
    db: {
      image: c.image,
      memory: ORIGINAL_LIMIT,
      mycnf: { innodb_buffer_pool_size: CHANGES[c.change].pool, max_connections: 500, max_connect_errors: 1_000_000 },
      // The reads of the hours after the change: 95% of the pool's pages come to hold data.
      warmup: { bufferPoolFraction: 0.95 },
      settleMs: 2_000,
    },
  }),
  // The day's traffic once the pool is warm: point reads and feeds.
  workload: () => steadyTraffic(),
  // As soon as the server answers, before the warm-up: the new limit meets a cold pool.
  steps: (c) => [{ name: 'lower-limit', after: 'db.ready', action: 'limit', instance: 'db', memory: CHANGES[c.change].lowered }],
  expect: (c) =>
    c.change === 'production'
      ? {
          db: {
            outcome: 'oom-killed-under-load',
            because: 'a warm 1024M pool does not fit the lowered 1 GiB limit',
            afterStep: 'lower-limit',
            oomKilledWithin: { of: 'lower-limit', ms: 60_000 },
          },
        }
      : {
          db: {
            outcome: 'survived',
            because: c.change === 'pool-shrunk' ? 'a warm 512M pool fits the lowered 1 GiB limit' : 'a warm 1024M pool fits a limit lowered only to 1.5 GiB',
            afterStep: 'lower-limit',
          },
        },
});
