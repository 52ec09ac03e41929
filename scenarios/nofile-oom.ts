// Incident 1 (docs/incidents.md): mysqld 5.7 is OOM-killed right after start under K3s,
// because containerd's LimitNOFILE=infinity gives it nofile 1073741816 and mysqld keeps that
// value, allocating 16 bytes per file: a 16 GiB table in a 4G container. Shrinking every buffer
// does not help; `ulimit -n 4096` before exec does.
import { defineScenario, type InstanceInput } from 'oomlab';

const OFFLINE_MARIADB = 'oomlab/mariadb:10.11';
const CONTAINERD_INFINITY = 1073741816;

/** The incident's red herring: every buffer shrunk, open_files_limit included. */
const TUNED_MY_CNF = {
  innodb_buffer_pool_size: '32M',
  innodb_log_buffer_size: '1M',
  key_buffer_size: '16k',
  max_connections: 50,
  open_files_limit: 4096,
  table_open_cache: 16,
  table_definition_cache: 400,
  sort_buffer_size: '512k',
  read_buffer_size: '256k',
  read_rnd_buffer_size: '256k',
  join_buffer_size: '256k',
  thread_stack: '256K',
  tmp_table_size: '16M',
  performance_schema: 'OFF',
};

/** The incident's fix, as the K3s Deployment's command. */
const ULIMIT_WRAPPER = ['sh', '-c', 'ulimit -n 4096 && exec docker-entrypoint.sh mysqld'];

export default defineScenario({
  name: 'nofile-oom',
  incident: 'Incident 1: mysqld 5.7 OOM-killed at start-up under K3s — nofile 1073741816 makes it allocate a 16 GiB file table; fixed by `ulimit -n 4096` before exec',
  matrix: {
    image: ['mysql:5.7', 'mysql:5.5', OFFLINE_MARIADB],
    /** `default` is the engine's own limit; 1073741816 is containerd's "infinity". */
    nofile: ['default', 1048576, CONTAINERD_INFINITY],
    fix: ['none', 'tuned-my.cnf', 'ulimit-4096'],
    /** MariaDB caps an automatic open_files_limit; `explicit` sets it to the nofile value, as 5.7 effectively does. */
    open_files_limit: ['auto', 'explicit'],
    memory: ['4g'],
  },
  // MySQL <= 5.7 already takes the OS value, and an explicit value only means something with a numeric nofile.
  exclude: (c) => c.open_files_limit === 'explicit' && (c.image !== OFFLINE_MARIADB || c.nofile === 'default'),
  instances: (c) => {
    const mycnf: NonNullable<InstanceInput['mycnf']> = {};
    if (c.fix === 'tuned-my.cnf') Object.assign(mycnf, TUNED_MY_CNF);
    // Written after the tuned file's 4096, so it wins, as a deliberate setting would.
    if (c.open_files_limit === 'explicit' && typeof c.nofile === 'number') mycnf.open_files_limit = c.nofile;
    return {
      db: {
        image: c.image,
        memory: c.memory,
        nofile: c.nofile,
        mycnf,
        ...(c.fix === 'ulimit-4096' ? { entrypoint: ULIMIT_WRAPPER } : {}),
        readyTimeoutMs: 60_000,
        settleMs: 3_000,
      },
    };
  },
  expect: (c) => {
    const hugeNofile = c.nofile === CONTAINERD_INFINITY;
    // MySQL <= 5.7 keeps any OS limit above what it wants; MariaDB 10.11 only when told to.
    const serverTakesNofile = c.image.startsWith('mysql:5.') || c.open_files_limit === 'explicit';
    if (c.fix === 'ulimit-4096') {
      return { db: { outcome: 'survived', because: 'the wrapper lowers nofile to 4096 before mysqld reads it', openFilesLimit: { atMost: 4096 } } };
    }
    if (hugeNofile && serverTakesNofile) {
      return {
        db: {
          outcome: 'oom-killed-at-startup',
          because: c.fix === 'tuned-my.cnf' ? 'shrinking the buffers does not shrink the 16 GiB file table' : '16 bytes × 1073741816 files = 16 GiB, above the memory limit',
        },
      };
    }
    return { db: { outcome: 'survived', because: hugeNofile ? 'the server caps an automatic open_files_limit' : 'the file table fits' } };
  },
});
