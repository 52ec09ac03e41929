// Neighbours in the same memory budget: MariaDB shares a host (a pod, a VM, a parent cgroup) of 2 GiB
// with a sidecar holding 600 MiB. Its 1024M buffer pool was sized for the host alone and is warm. A
// nightly batch job starts on the same host and takes 400 MiB: the budget is exceeded, and the kernel
// kills the largest process in it, mariadbd, which was not growing. The victim is not the cause: the
// global OOM's shape (here the side budget's memory cgroup stands for the host). The fixes: a pool
// sized for what the neighbours leave, or the sidecar marked the first to go (oom_score_adj 1000, as
// Kubernetes gives a BestEffort pod).
import { defineScenario, memoryNeighbour } from 'oomlab';

const IMAGE = 'oomlab/mariadb:10.11';

export default defineScenario({
  name: 'neighbour-oom',
  incident: "A sidecar and a nightly batch job share MariaDB's 2 GiB host; when the batch starts, the kernel kills mariadbd, the largest process, though the neighbours took the memory",
  matrix: {
    image: [IMAGE],
    fix: ['none', 'pool-512m', 'sidecar-first'],
  },
  host: () => ({ sides: { host: { memory: '2g' } } }),
  instances: (c) => ({
    db: {
      image: c.image,
      side: 'host',
      mycnf: { innodb_buffer_pool_size: c.fix === 'pool-512m' ? '512M' : '1024M', max_connections: 500 },
      warmup: { bufferPoolFraction: 0.95 },
      settleMs: 5_000,
    },
    // The sidecar: 600 MiB held and touched for as long as it runs.
    sidecar: { ...memoryNeighbour({ memory: '600m', image: c.image, side: 'host' }), ...(c.fix === 'sidecar-first' ? { oomScoreAdj: 1000 } : {}) },
  }),
  // The batch job, once the pool is warm.
  steps: (c) => [{ name: 'nightly-batch', at: '2s', action: 'neighbour', memory: '400m', image: c.image, side: 'host' }],
  expect: (c) => {
    if (c.fix === 'none') {
      return {
        db: {
          outcome: 'oom-killed-under-load',
          because: 'the batch job pushes the host over its budget and the kernel kills the largest process, mariadbd',
          afterStep: 'nightly-batch',
          oomKilledWithin: { of: 'nightly-batch', ms: 15_000 },
        },
        sidecar: { outcome: 'survived', because: 'the sidecar took its memory first and is smaller: it is not chosen' },
      };
    }
    if (c.fix === 'pool-512m') {
      return {
        db: { outcome: 'survived', because: 'a warm 512M pool, the sidecar and the batch job fit the 2 GiB host' },
        sidecar: { outcome: 'survived', because: 'everything fits' },
      };
    }
    return {
      db: { outcome: 'survived', because: 'with oom_score_adj 1000 the sidecar is chosen before mariadbd, and its memory is enough' },
      sidecar: { outcome: 'oom-killed-under-load', because: 'oom_score_adj 1000 makes it the first to go' },
    };
  },
});
