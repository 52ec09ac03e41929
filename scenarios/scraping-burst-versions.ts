// Incident 2 across server versions: the scraping burst of scraping-burst.ts, baseline settings, tight
// and roomy headroom, on every offline server. What each server adds is its SHOW ENGINE INNODB STATUS:
// MariaDB 10.5 and MySQL 9.7 still list the wait array's cells (sync0arr.cc, sync_array_cell_print),
// the incident's `--Thread … has waited at … line …`; MariaDB 10.6 removed the wait array (MDEV-21452)
// and prints SEMAPHORES with nothing under it, which the report says instead of showing nothing.
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
  },
  exclude: undefined,
} satisfies Scenario;
