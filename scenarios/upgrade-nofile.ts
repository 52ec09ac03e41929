// Incident 1 (docs/incidents.md) as an upgrade review asks it: if we move from the server we run to
// the one we plan, does the 16 GiB file table still kill it at nofile 1073741816, and does the fix
// (`ulimit -n 4096` before exec) still work? One row per server version.
//
// MariaDB (10.5, 10.11, 11.8) preallocates 16 bytes per descriptor for the open_files_limit it settles
// on, but caps an automatic value (32184 on 2 CPUs): only an explicit huge open_files_limit kills it.
// MySQL 8.0 and later keep the file table in a vector that grows with the descriptors in use
// (mysys/my_file.cc), so MySQL 9.7 reports open_files_limit = the rlimit and allocates nothing for it.
// MySQL 5.5/5.7 (images a user brings: `oomlab images load`) preallocate for any rlimit: the incident.
import { defineScenario } from 'oomlab';

const CONTAINERD_INFINITY = 1073741816;

/** The incident's fix, as the K3s Deployment's command. */
const ULIMIT_WRAPPER = ['sh', '-c', 'ulimit -n 4096 && exec docker-entrypoint.sh mysqld'];

/** Servers whose file table is a growable vector: they take any rlimit and allocate nothing for it. */
const GROWABLE_FILE_TABLE = /^(oomlab\/)?mysql:([89]|\d{2,})\./;
/** Servers that keep any rlimit above what they want and preallocate for it (the incident's 5.7). */
const KEEPS_NOFILE = /^(mysql|percona):5\./;

export default defineScenario({
  name: 'upgrade-nofile',
  incident: 'Incident 1 across server versions: does nofile 1073741816 still OOM-kill the server at start-up after the upgrade, and does `ulimit -n 4096` still fix it?',
  matrix: {
    image: ['mysql:5.7', 'oomlab/mariadb:10.5', 'oomlab/mariadb:10.11', 'oomlab/mariadb:11.8', 'oomlab/mysql:9.7'],
    /** 1048576 is Docker's usual default; 1073741816 is containerd's "infinity". */
    nofile: [1048576, CONTAINERD_INFINITY],
    fix: ['none', 'ulimit-4096'],
    /** `explicit` sets open_files_limit to the nofile value; `auto` leaves the server to choose. */
    open_files_limit: ['auto', 'explicit'],
    memory: ['4g'],
  },
  // MySQL 5.x already takes the OS value: an explicit value adds nothing there.
  exclude: (c) => c.open_files_limit === 'explicit' && KEEPS_NOFILE.test(c.image),
  probes: ['file-table'],
  instances: (c) => ({
    db: {
      image: c.image,
      memory: c.memory,
      nofile: c.nofile,
      ...(c.open_files_limit === 'explicit' ? { mycnf: { open_files_limit: c.nofile } } : {}),
      ...(c.fix === 'ulimit-4096' ? { entrypoint: ULIMIT_WRAPPER } : {}),
      readyTimeoutMs: 90_000,
      settleMs: 3_000,
    },
  }),
  expect: (c) => {
    if (c.fix === 'ulimit-4096') {
      return { db: { outcome: 'survived', because: 'the wrapper lowers nofile to 4096 before the server reads it', openFilesLimit: { atMost: 4096 } } };
    }
    if (GROWABLE_FILE_TABLE.test(c.image)) {
      return { db: { outcome: 'survived', because: 'the file table grows with the descriptors in use: nothing is allocated for the rlimit', openFilesLimit: { equals: c.nofile } } };
    }
    const takesNofile = KEEPS_NOFILE.test(c.image) || c.open_files_limit === 'explicit';
    if (c.nofile === CONTAINERD_INFINITY && takesNofile) {
      return { db: { outcome: 'oom-killed-at-startup', because: '16 bytes × 1073741816 descriptors = 16 GiB, above the 4 GiB limit' } };
    }
    return { db: { outcome: 'survived', because: takesNofile ? '16 bytes × 1048576 = 16 MiB fits' : 'the server caps an automatic open_files_limit' } };
  },
});
