// Incident 2 across server versions: the scraping burst of scraping-burst.ts, baseline settings, on
// every offline server. What each server adds is its SHOW ENGINE INNODB STATUS: MariaDB 10.5 and
// MySQL 9.7 still list the wait array's cells (sync0arr.cc, sync_array_cell_print), the incident's
// `--Thread … has waited at … line …`; MariaDB 10.6 removed the wait array (MDEV-21452) and prints
// SEMAPHORES with nothing under it, which the report says instead of showing nothing.
// Budgets and settings per server come from lib/servers.ts (MySQL idles larger, has no
// max_statement_time, and runs its own tcmalloc with no preload).
import type { Scenario } from 'oomlab';
import scrapingBurst from './scraping-burst.ts';

const burst = scrapingBurst as Scenario;

export default {
  ...burst,
  name: 'scraping-burst-versions',
  incident: `${burst.incident}; across MariaDB 10.5, 10.11, 11.8 and MySQL 9.7, with the InnoDB semaphore waits each server can show`,
  matrix: {
    image: ['oomlab/mariadb:10.5', 'oomlab/mariadb:10.11', 'oomlab/mariadb:11.8', 'oomlab/mysql:9.7'],
    balancer: ['fastest'],
    allocator: ['glibc'],
    innodb_thread_concurrency: [0],
    thp: ['always'],
    headroom: ['tight', 'roomy'],
    numa: ['default'],
    // 256M holds the feed (40000 posts, about 20 MiB) as scraping-burst.ts does; at 8M it no longer
    // fits, the burst reads pages, and threads queue on page latches. Measured on MariaDB 10.5 (tight):
    // B listed 0 to 29 waits per run at 256M, 1269 in 15 of 19 samples at 8M.
    buffer_pool: ['256M', '8M'],
  },
  // The small pool at the incident's tight headroom only: it is there to make waits, not a fix.
  exclude: (c) => c.buffer_pool === '8M' && c.headroom === 'roomy',
  instances: (c) =>
    Object.fromEntries(
      Object.entries(burst.instances(c)).map(([name, spec]) => [
        name,
        spec && spec.role !== 'neighbour' ? { ...spec, mycnf: { ...spec.mycnf, innodb_buffer_pool_size: String(c.buffer_pool) } } : spec,
      ]),
    ),
} satisfies Scenario;
