// What the incident 2 scenarios set per server, read from the image name: the scenarios' data, so that
// `--set image=oomlab/mysql:9.7` reruns them on another server without a special case in src/. (A
// module, not a scenario: `oomlab list` reads only scenarios/*.ts.)

export interface ServerFlavour {
  family: 'mariadb' | 'mysql';
  /**
   * The server stops a statement after 10 s, as the API's own timeout would: MariaDB's
   * max_statement_time (seconds), MySQL's max_execution_time (ms, SELECT only, 5.7.8 and later).
   */
  statementTimeout: Record<string, number>;
  /**
   * A's host, shared with the 640 MiB neighbour: `tight` leaves A about 340 MiB above what it holds
   * seeded (MariaDB 10.11: 1280 − 640 − 300), `roomy` is enough for A's share of the burst.
   * Tight was 1536 MiB (about 600 MiB of room): a coin toss. A's own peak reached 893–894 MiB in every
   * kill (17 of 17 configurations, jemalloc 3 of 3, anon-rss at the kill 882–890 MiB) and in the survivor
   * too (893 MiB + the neighbour's 642 = 1535 of 1536: it lived by shedding page cache); MySQL 9.7
   * survived 2 of 5 at its 1806/1886 MiB, A at 1068 and 1212 MiB. The least A ever held under the burst
   * at tight is now 100+ MiB (over 20%) above its room: the kill is decided, for every allocator.
   */
  sideA: { tight: string; roomy: string };
  /** What runs with no preload (`allocator: 'glibc'`): Debian's MySQL links tcmalloc itself. */
  withoutPreload: 'glibc' | 'tcmalloc';
}

const MARIADB: ServerFlavour = {
  family: 'mariadb',
  statementTimeout: { max_statement_time: 10 },
  sideA: { tight: '1280m', roomy: '9g' },
  withoutPreload: 'glibc',
};

/**
 * Oracle MySQL from Debian (oomlab/mysql:9.7): with the scenario's settings its container holds 615 MiB
 * once ready (performance_schema sized for max_connections 2000), MariaDB 10.11's 266 MiB: its budgets
 * are 350 MiB larger, for the same room above idle.
 */
const MYSQL_DEBIAN: ServerFlavour = {
  family: 'mysql',
  statementTimeout: { max_execution_time: 10_000 },
  sideA: { tight: '1630m', roomy: '9566m' },
  withoutPreload: 'tcmalloc',
};

/** Official MySQL images link no allocator of their own; 5.5 and 5.6 have no statement timeout. */
function officialMysql(image: string): ServerFlavour {
  const tag = /:(\d+)\.(\d+)/.exec(image);
  const withTimeout = !tag || Number(tag[1]) > 5 || Number(tag[2]) >= 7;
  return { ...MYSQL_DEBIAN, statementTimeout: withTimeout ? MYSQL_DEBIAN.statementTimeout : {}, withoutPreload: 'glibc' };
}

export function serverFlavour(image: string): ServerFlavour {
  if (/mariadb/i.test(image)) return MARIADB;
  if (/^oomlab\/mysql:/.test(image)) return MYSQL_DEBIAN;
  if (/(^|\/)(mysql|percona)(-server)?(:|$)/.test(image)) return officialMysql(image);
  // Anything else is taken for MariaDB, the offline default: a wrong guess fails at start-up, naming the variable.
  return MARIADB;
}
