// Incident 1 (docs/incidents.md) with the container runtime as the axis, and nothing emulated: one image, one
// my.cnf, one 4g limit; only the runtime's systemd unit differs, each in a lab VM whose runtimes started with it.
//
// The units, as their sources have them:
// - moby v19.03.0 contrib/init/systemd/docker.service, line 15 (also v20.10.0):  LimitNOFILE=1048576
// - containerd v1.5.0 containerd.service line 33, v1.7.0 line 35:                LimitNOFILE=infinity
//   ("infinity" is fs.nr_open for systemd: 1073741816 on nodes that raise it, as K3s's and minikube's did)
// - moby v25.0.0 (PR #45534, commit c8930105bc) and containerd v2.0.0 (PR #8924, commit 3ca39ef01) dropped the
//   line: systemd's own default applies, 1024 soft / 524288 hard.
// The CRI plugin clears the spec's rlimits, so a CRI container inherits containerd's own limit; Docker's spec sets
// none, so a Docker container inherits the limit of the shim, containerd's child. In the lab both units get the
// shape's value and the container is created with no rlimit: it gets the unit's limit by that same inheritance.
// The report shows what it really got: /proc/<pid>/limits of the container's first process, read in the guest.
//
// MariaDB 10.11 preallocates 16 bytes per file for the open_files_limit it settles on, but caps an automatic one;
// `open_files_limit = 1073741816` makes it ask for as many as the OS lets it have, which is what MySQL 5.7 did on
// its own. It cannot raise its hard limit (no CAP_SYS_RESOURCE), so it keeps the runtime's limit when that is lower.
import { defineScenario } from 'oomlab';

/** The runtime, as started by its unit of that time → the lab shape whose runtimes got that LimitNOFILE (src/3-runtime/lab/shape.ts). */
const RUNTIMES = {
  /** Docker as installed in 2019: moby's docker.service with LimitNOFILE=1048576. */
  'docker-2019': 'lab:docker-2019',
  /** containerd 1.5–1.7 from its reference unit, LimitNOFILE=infinity, on a node with fs.nr_open 1073741816. */
  'containerd-1.7': 'lab:containerd-infinity',
  /** Docker ≥ 25: no LimitNOFILE, systemd's 1024:524288. */
  'docker-25': 'lab:runtime-today',
  /** containerd 2.x: no LimitNOFILE, systemd's 1024:524288. */
  'containerd-2': 'lab:runtime-today',
} as const;
type RuntimeName = keyof typeof RUNTIMES;

export default defineScenario({
  name: 'runtime-nofile',
  incident: 'Incident 1 by container runtime: fine under Docker, OOM-killed at start-up under containerd with LimitNOFILE=infinity — the same image and settings, real limits in lab VMs',
  matrix: {
    runtime: Object.keys(RUNTIMES) as RuntimeName[],
    image: ['oomlab/mariadb:10.11'],
    memory: ['4g'],
  },
  // Each runtime's configuration runs in a VM of its own shape: a run boots one VM per distinct shape, in turn.
  host: (c) => ({ runtime: RUNTIMES[c.runtime as RuntimeName] }),
  instances: (c) => ({
    db: {
      image: c.image,
      memory: c.memory,
      // No rlimit in the container's spec: it inherits the runtime's, as under CRI.
      nofile: 'default',
      mycnf: { open_files_limit: 1_073_741_816 },
      readyTimeoutMs: 90_000,
      settleMs: 3_000,
    },
  }),
  expect: (c) => {
    if (c.runtime === 'containerd-1.7') {
      return { db: { outcome: 'oom-killed-at-startup', because: 'containerd gives nofile 1073741816: 16 bytes × 1073741816 files = a 16 GiB table, above the 4 GiB limit' } };
    }
    if (c.runtime === 'docker-2019') {
      return { db: { outcome: 'survived', because: "dockerd's 1048576 caps what the server can take: a 16 MiB table", openFilesLimit: { atMost: 1_048_576 } } };
    }
    return { db: { outcome: 'survived', because: "systemd's default 1024:524288: the server cannot raise its soft limit past the hard one", openFilesLimit: { atMost: 524_288 } } };
  },
});
