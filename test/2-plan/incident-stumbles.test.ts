// What a newcomer stumbled on taking their own incident through from-incident (issue 22's trial, second pass).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagnose, readEvidence, scenarioText } from '../../src/2-plan/index.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const read = (...path: string[]) => readFileSync(join(FIXTURES, ...path), 'utf8');
const KILL = 'Memory cgroup out of memory: Killed process 28811 (mariadbd) total-vm:4215332kB, anon-rss:2062148kB, file-rss:0kB, shmem-rss:0kB';
const MY_CNF = '[mysqld]\ninnodb_buffer_pool_size = 1536M\nmax_connections = 500\nsort_buffer_size = 4M\njoin_buffer_size = 4M\nread_rnd_buffer_size = 2M\n';

describe('one kill in two files', () => {
  const dmesg = { name: 'dmesg.txt', text: read('one-kill-two-copies', 'dmesg.txt') };
  const grep = { name: 'journal.txt', text: read('one-kill-two-copies', 'dmesg-T-grep.txt') };

  it('is one kill, its copies merged, and the read line says so', () => {
    const evidence = readEvidence([dmesg, grep]);
    expect(evidence.kills).toHaveLength(1);
    expect(evidence.inputs).toEqual(['dmesg.txt: 1 OOM kill', 'journal.txt: 1 OOM kill, the same kill as in dmesg.txt (counted once)']);
    // The fuller copy (the whole report, with its memcg usage line and task table) is the one kept.
    expect(evidence.kill).toMatchObject({ pid: 2878, process: 'mariadbd', anonRssKb: 4185600, scope: 'memcg', memcgLimitKb: 4194304 });
    expect(evidence.kill!.tasks).toHaveLength(1);
  });

  it('keeps the fuller copy whichever file comes first', () => {
    const evidence = readEvidence([grep, dmesg]);
    expect(evidence.kills).toHaveLength(1);
    expect(evidence.kill!.memcgLimitKb).toBe(4194304);
    expect(evidence.inputs[1]).toBe('dmesg.txt: 1 OOM kill, the same kill as in journal.txt (counted once)');
  });

  it('keeps two kills of one process name with different pids apart', () => {
    const other = { name: 'later.txt', text: grep.text.replaceAll('2878', '2879') };
    expect(readEvidence([dmesg, other]).kills).toHaveLength(2);
  });
});

describe('the connections cause without a connection count', () => {
  it('says in its `against` why its score is half the share it accounts for', () => {
    const diagnosis = diagnose(
      readEvidence(
        [
          { name: 'oom.txt', text: KILL },
          { name: 'my.cnf', text: MY_CNF, as: 'mycnf' },
        ],
        { limit: '2g' },
      ),
    );
    const connections = diagnosis.causes.find((c) => c.id === 'connections')!;
    expect(connections.score).toBe(0.09);
    expect(connections.against).toContain(
      'how many connections were open is unknown: the score counts that 18 % at half (0.09), as max_connections 500 all busy at once is a bound production rarely reaches; Max_used_connections would count it in full',
    );
  });

  it('counts the share in full, and says nothing of halving, when Max_used_connections is given', () => {
    const status = {
      name: 'status.txt',
      text: '+----------------------+-------+\n| Variable_name        | Value |\n+----------------------+-------+\n| Max_used_connections | 300   |\n+----------------------+-------+\n',
    };
    const diagnosis = diagnose(readEvidence([{ name: 'oom.txt', text: KILL }, { name: 'my.cnf', text: MY_CNF, as: 'mycnf' }, status], { limit: '2g' }));
    const connections = diagnosis.causes.find((c) => c.id === 'connections')!;
    expect(connections.score).toBe(0.18);
    expect(connections.against.join('\n')).not.toMatch(/at half/);
  });
});

describe("production's server in the generated scenario", () => {
  it('is carried beside the kill, marked assumed when only the process name gave it', () => {
    const evidence = readEvidence(
      [
        { name: 'oom.txt', text: 'Memory cgroup out of memory: Killed process 123841 (mysqld) total-vm:465616kB, anon-rss:423524kB, file-rss:0kB, shmem-rss:0kB' },
        { name: 'my.cnf', text: '[mysqld]\ninnodb_buffer_pool_size = 384M\n', as: 'mycnf' },
      ],
      { limit: '512m' },
    );
    const text = scenarioText({ name: 'incident-x', evidence, diagnosis: diagnose(evidence), writtenAt: new Date(0), sources: ['oom.txt'] });
    expect(text).toContain('"server":{"family":"mysql","version":"5.7","assumed":true}');
    expect(text).toContain('image: ["oomlab/mysql:9.7"],');
  });
});

describe('in-memory temporary tables in the generated storm', () => {
  const written = (mycnf: string) => {
    const evidence = readEvidence(
      [
        { name: 'oom.txt', text: KILL },
        { name: 'my.cnf', text: mycnf, as: 'mycnf' },
      ],
      { limit: '2g' },
    );
    return scenarioText({ name: 'incident-x', evidence, diagnosis: diagnose(evidence), writtenAt: new Date(0), sources: ['oom.txt', 'my.cnf'] });
  };

  it('are built when tmp_table_size is a large part of what the diagnosis counts a connection to hold', () => {
    const text = written(MY_CNF);
    expect(text).toContain('  workload: () => busyMinute({ connections: 250, temporaryTables: true }),');
    expect(text).toContain(
      '  // A GROUP BY report builds an in-memory temporary table of up to min(tmp_table_size, max_heap_table_size) = 16 MiB (the default), which the diagnosis counts for each connection.',
    );
  });

  it('are built when my.cnf sets them, and the default-buffers fix puts them back to 16M', () => {
    const text = written(`${MY_CNF}tmp_table_size = 256M\nmax_heap_table_size = 256M\n`);
    expect(text).toContain("= 256 MiB (production's), which the diagnosis counts for each connection.");
    expect(text).toMatch(/"default-buffers": \{ because: .*"tmp_table_size":"16M","max_heap_table_size":"16M"/);
  });

  it('are said not to be exercised when they are a small part of it', () => {
    const text = written(`${MY_CNF}tmp_table_size = 512K\n`);
    expect(text).toContain('  workload: () => busyMinute({ connections: 250 }),');
    expect(text).toContain("  // In-memory temporary tables are not exercised: min(tmp_table_size, max_heap_table_size) = 512 KiB (production's) is a small part of what a connection holds.");
  });
});

describe('a kill confined to one NUMA node (the newcomer with incident 2)', () => {
  // The lab's own cpuset kill (docs/lab.md): mariadbd bound to node 1, killed with CONSTRAINT_CPUSET, mems_allowed=1.
  it('says a node ran out, not the machine, and points to what settles it and to numa-imbalance', () => {
    const diagnosis = diagnose(readEvidence([{ name: 'dmesg.txt', text: read('numa', 'dmesg-cpuset-oom-mariadbd-node1.txt') }]));
    expect(diagnosis.unknown).toContain(
      "the kill was confined to NUMA node(s) 1 (CONSTRAINT_CPUSET): a node ran out, not the machine, and the other nodes' free memory at the kill is not in these lines",
    );
    expect(diagnosis.collect.find((c) => c.includes('numactl --hardware'))).toContain('scenarios/numa-imbalance.ts');
  });

  it('says nothing of NUMA for a memcg kill', () => {
    const diagnosis = diagnose(readEvidence([{ name: 'oom.txt', text: KILL }]));
    expect(diagnosis.unknown.some((u) => u.includes('NUMA'))).toBe(false);
  });
});

describe('a task table cut short (a newcomer with nextcloud-snap#1192)', () => {
  // https://github.com/nextcloud-snap/nextcloud-snap/issues/1192, the reporter's first comment: its excerpt starts at the
  // task table's last row (a `sleep`), so the table lacks mysqld's row. Read as whole, that row's 84 KiB turned
  // neighbours from 0.62 to 0.20 and no scenario was written.
  const CUT = [
    'Dec 08 11:52:20 ubuntu kernel: [  25544]     0 25544      862       21    40960        0             0 sleep',
    'Dec 08 11:52:20 ubuntu kernel: oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/,task=mysqld,pid=11119,uid=0',
    'Dec 08 11:52:20 ubuntu kernel: Out of memory: Killed process 11119 (mysqld) total-vm:1946180kB, anon-rss:241112kB, file-rss:0kB, shmem-rss:0kB',
    'Dec 08 11:52:20 ubuntu kernel: oom_reaper: reaped process 11119 (mysqld), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB',
  ].join('\n');
  const withoutRow = CUT.split('\n').slice(1).join('\n');

  it('is a part, not a figure against neighbours: the diagnosis is the one without it, and it says the table is cut', () => {
    const cut = diagnose(readEvidence([{ name: 'oom.txt', text: CUT }], { limit: '1g' }));
    const none = diagnose(readEvidence([{ name: 'oom.txt', text: withoutRow }], { limit: '1g' }));
    expect(cut.causes[0]).toMatchObject({ id: 'neighbours', score: none.causes[0]!.score });
    expect(cut.causes[0]!.score).toBeGreaterThan(0.5);
    expect(cut.unknown).toContain('which processes held what: the task table given is cut: 1 row and none for mysqld (pid 11119), so the 84 KiB its rows held is only a part');
    expect(cut.collect.some((c) => c.startsWith('the whole task table'))).toBe(true);
    // performance_schema's 0.00 has its reason beside it, not a lone '+'.
    expect(cut.causes.find((c) => c.id === 'performance-schema')!.against).toContain(
      "the pool (128 MiB, the default: none was given) and the server's base (~116 MiB) come to more than the whole 241,112 kB anon-rss: nothing is left for it, and production's pool was smaller than that default or not yet filled: give its my.cnf",
    );
  });

  it("writes a scenario that says its server was sized to production's anon-rss, and that the version was assumed", () => {
    const evidence = readEvidence([{ name: 'oom.txt', text: CUT }], { limit: '1g' });
    const text = scenarioText({ name: 'incident-x', evidence, diagnosis: diagnose(evidence), writtenAt: new Date(0), sources: ['oom.txt'] });
    expect(text).toContain('"anonRssSizedTo":true');
    expect(text).toContain('production ran MySQL 5.7 (assumed: the evidence does not name it)');
  });

  it("asks for the machine's memory as --limit when none was given: a global kill's budget is the machine", () => {
    const collect = diagnose(readEvidence([{ name: 'oom.txt', text: CUT }])).collect;
    expect(collect.find((c) => c.startsWith("the machine's memory"))).toContain('as --limit');
    expect(collect.some((c) => c.startsWith('the limit: `docker inspect`'))).toBe(false);
  });
});

describe("a global kill's line alone (a newcomer's 4 GB VPS)", () => {
  // https://wp-maintenance.pro/blog/mariadb-innodb-corruption-oom-killer-wordpress/ — its line as the page prints it
  // (`score:412` included), and its my.cnf's pool. The page's cause: the machine was overcommitted, PHP-FPM's 25
  // children beside a 2G pool, Redis and Nginx.
  const LINE = 'kernel: Out of memory: Killed process 14823 (mariadbd) total-vm:2847632kB, anon-rss:1689420kB, file-rss:0kB, shmem-rss:0kB, UID:27 pgtables:4612kB score:412';
  const evidence = readEvidence(
    [
      { name: 'oom.txt', text: LINE },
      { name: 'my.cnf', text: '[mysqld]\ninnodb_buffer_pool_size = 2G\n', as: 'mycnf' },
    ],
    { limit: '4g' },
  );

  it('is global: `Out of memory: Killed process` without `Memory cgroup` is the machine running out (it was read as scope unknown)', () => {
    expect(evidence.kill).toMatchObject({ scope: 'global', process: 'mariadbd', anonRssKb: 1_689_420, uid: 27 });
    expect(readEvidence([{ name: 'oom.txt', text: `Memory cgroup out of memory: Killed process 14823 (mariadbd) total-vm:2847632kB, anon-rss:1689420kB, file-rss:0kB` }]).kill?.scope).toBe('memcg');
  });

  it('puts the neighbours before a pool that had not filled when the machine ran out (the pool ranked 1.00 above 2.4 GiB of others)', () => {
    const diagnosis = diagnose(evidence);
    expect(diagnosis.causes.slice(0, 2).map((c) => [c.id, c.score])).toEqual([
      ['neighbours', 0.48],
      ['buffer-pool', 0.4],
    ]);
    expect(diagnosis.causes[1]!.against).toContain(
      "the pool (2 GiB) and the server's base are more than all mariadbd held at the kill (1,689,420 kB), yet fit the 4 GiB machine: it had not filled when the machine ran out, and the other 2.4 GiB was held by something else",
    );
  });
});
