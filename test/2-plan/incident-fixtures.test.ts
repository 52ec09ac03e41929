// Real incidents from public threads (test/fixtures/incidents/README.md cites each): given what its thread
// gives, from-incident must put the thread's established cause first, and say insufficient-evidence where
// the thread never found one. The extra inputs below are facts each thread states, not guesses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CauseId, diagnose, type EvidenceOverrides, type IncidentInput, readEvidence } from '../../src/2-plan/index.ts';

const ROOT = join(import.meta.dirname, '..', 'fixtures', 'incidents');
const read = (incident: string, file: string) => readFileSync(join(ROOT, incident, file), 'utf8');

interface Case {
  /** Files read as one paste each; a list inside a list is one paste kept in parts. */
  files: (string | string[])[];
  mycnf?: string;
  overrides?: EvidenceOverrides;
  /** The thread's established cause, from its incident.json. */
  cause: CauseId;
}

const CASES: Record<string, Case> = {
  // The Deployment and the red-herring my.cnf are the seed's own.
  'seed-k3s-nofile': { files: ['kernel.log', 'pod.yaml'], mycnf: 'mycnf.cnf', cause: 'nofile-file-table' },
  'minikube-5751-nofile': { files: ['kernel.log'], cause: 'nofile-file-table' },
  'containerd-7566-nofile': { files: ['kernel.log'], cause: 'nofile-file-table' },
  // The reporter's one paste (task table, then the oom-kill line), kept in two parts; a t3.small has 2 GiB.
  'bitnami-vms-927-neighbours': { files: [['reporter-tasks-phpfpm.log', 'reporter-tasks-tail.log']], overrides: { limit: '2g' }, cause: 'neighbours' },
  // "a 512MB virtual machine".
  'lowmem-vm-perfschema': { files: ['kernel.log'], overrides: { limit: '512m' }, cause: 'performance-schema' },
  // The operator's settings as the page gives them, and systemd's MemoryMax 16 GB.
  'pmacontrol-mariadb-connections': {
    files: ['kernel.log'],
    overrides: { limit: '16g' },
    cause: 'connections',
  },
  // "an 8 GB machine, a 1 GB buffer pool".
  'fulltext-tcmalloc-allocator': { files: ['kernel.log'], overrides: { limit: '8g' }, cause: 'allocator' },
  'thewca-1629-travis': { files: ['kernel.log'], cause: 'insufficient-evidence' },
  'flynn-4436-mysql': { files: ['kernel.log'], cause: 'insufficient-evidence' },
  'systemd-11510-galera': { files: ['kernel.log'], cause: 'insufficient-evidence' },
  'dockerfile-mariadb-12': { files: ['kernel.log'], cause: 'insufficient-evidence' },
  'unixse-100873-master': { files: ['kernel.log'], cause: 'insufficient-evidence' },
};

const MYCNF: Record<string, string> = {
  'pmacontrol-mariadb-connections': '[mysqld]\ninnodb_buffer_pool_size = 2G\ntmp_table_size = 768M\nmax_heap_table_size = 768M\nsort_buffer_size = 32M\nmax_connections = 100\n',
  'fulltext-tcmalloc-allocator': '[mysqld]\ninnodb_buffer_pool_size = 1073741824\n',
};

function inputsOf(incident: string, c: Case): IncidentInput[] {
  const inputs: IncidentInput[] = c.files.map((file) =>
    Array.isArray(file) ? { name: file.join('+'), text: file.map((f) => read(incident, f)).join('\n') } : { name: file, text: read(incident, file) },
  );
  if (c.mycnf) inputs.push({ name: c.mycnf, text: read(incident, c.mycnf), as: 'mycnf' });
  if (MYCNF[incident]) inputs.push({ name: 'my.cnf (from the thread)', text: MYCNF[incident], as: 'mycnf' });
  return inputs;
}

describe('from-incident on real incidents', () => {
  it.each(Object.entries(CASES))("%s: the thread's cause first", (incident, c) => {
    const evidence = readEvidence(inputsOf(incident, c), c.overrides);
    const diagnosis = diagnose(evidence);
    expect(JSON.parse(read(incident, 'incident.json')).establishedCause).toBe(c.cause);
    expect(diagnosis.causes[0]!.id, JSON.stringify(diagnosis.causes.map((x) => [x.id, x.score]))).toBe(c.cause);
  });

  // kilobyte1024's snip in the same thread: a t3.small (2 GiB, as the comment says) and no task table. What mysqld
  // held beside the machine's memory is the evidence: the rest was someone else's.
  it("bitnami-vms-927-neighbours: the kill line alone, in the t3.small's 2 GiB, points at the neighbours", () => {
    const diagnosis = diagnose(readEvidence([{ name: 'kernel.log', text: read('bitnami-vms-927-neighbours', 'kernel.log') }], { limit: '2g' }));
    expect(diagnosis.causes[0]).toMatchObject({
      id: 'neighbours',
      score: 0.64,
      for: [
        "a global OOM in 2 GiB: mysqld held 424,876 kB (20 %); the other 1.6 GiB was other processes' and the kernel's",
        'a global OOM (no memory cgroup): the kernel picks the largest process, which need not be the one that grew',
      ],
    });
  });

  it('reads every kill line of the fixtures whatever its spelling', () => {
    const kill = (incident: string) => readEvidence([{ name: 'kernel.log', text: read(incident, 'kernel.log') }]).kill!;
    expect(kill('fulltext-tcmalloc-allocator')).toMatchObject({ process: 'mysqld', anonRssKb: 7444620, totalVmKb: 11223284, format: 'old', scope: 'global' });
    expect(kill('lowmem-vm-perfschema')).toMatchObject({ process: 'mysqld', anonRssKb: 437324, totalVmKb: 549180 });
    expect(kill('dockerfile-mariadb-12')).toMatchObject({ process: 'mysqld', anonRssKb: 122488, totalVmKb: 977148 });
    expect(kill('seed-k3s-nofile')).toMatchObject({ process: 'mysqld', scope: 'memcg', constraint: 'CONSTRAINT_MEMCG', oomScoreAdj: -998, anonRssKb: 3895388 });
    expect(kill('pmacontrol-mariadb-connections')).toMatchObject({ process: 'mariadbd', anonRssKb: 16649820, totalVmKb: 22267612 });
  });

  it('says why it cannot weigh the allocator case whose only line is "invoked oom-killer"', () => {
    const evidence = readEvidence([{ name: 'kernel.log', text: read('mysql56-fragmentation-allocator', 'kernel.log') }]);
    const diagnosis = diagnose(evidence);
    expect(diagnosis.causes[0]!.id).toBe('insufficient-evidence');
    expect(diagnosis.unknown).toContain('no OOM kill in what was given: was the server killed by the kernel, or did it exit?');
  });
});
