// A buffer pool sized for the host, not the container: a deploy raised innodb_buffer_pool_size from
// 512M to 1536M in a 2 GiB container. The server starts fine (a fresh pool is reserved, not resident),
// runs for hours while reads fill the pool, then a busy minute of the application's 250 connections needs the
// memory the pool took, and the memory cgroup's OOM killer takes mariadbd. The warm-up fills the pool as those
// hours did, so the pool axis shows: production's 1536M against each candidate fix, the old 512M and a
// pool sized to half the limit. Everything else is production's my.cnf.
import { defineScenario } from 'oomlab';
import { busyMinute } from './lib/storms.ts';

/** The container's limit in production, and here. */
const LIMIT = '2g';

/** production: the deploy's value; the fixes: half the limit, and the value before the deploy. */
const POOLS = { production: '1536M', 'half-limit': '1024M', 'before-deploy': '512M' } as const;

export default defineScenario({
  name: 'buffer-pool-oom',
  incident: 'A buffer pool sized for the host (1536M) in a 2 GiB container: once reads have filled it, an ordinary busy minute finds no room and the OOM killer takes mariadbd',
  matrix: {
    image: ['oomlab/mariadb:10.11'],
    pool: ['production', 'half-limit', 'before-deploy'],
    memory: [LIMIT],
  },
  instances: (c) => ({
    db: {
      image: c.image,
      memory: c.memory,
      mycnf: {
        innodb_buffer_pool_size: POOLS[c.pool],
        max_connections: 500,
        // A storm whose connections fail would otherwise get the client host blocked (1129).
        max_connect_errors: 1_000_000,
      },
      // Production's pool after hours of reads: 95% of its pages hold data.
      warmup: { bufferPoolFraction: 0.95 },
      settleMs: 2_000,
    },
  }),
  // A busy minute through the application's pool of 250 connections, each running point reads and a report
  // whose filesort allocates the whole sort_buffer_size.
  workload: () => busyMinute({ connections: 250 }),
  expect: (c) =>
    c.pool === 'production'
      ? { db: { outcome: 'oom-killed-under-load', because: 'a warm 1536M pool leaves the 2 GiB limit too little for a busy minute' } }
      : { db: { outcome: 'survived', because: `a warm ${POOLS[c.pool]} pool leaves room for the same minute` } },
});
