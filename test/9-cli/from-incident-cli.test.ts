// Bad input to from-incident: one line that says what to do, exit 2, and no scenario half-written.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const DIR = join(ROOT, 'test-output', `from-incident-cli-${process.pid}`);
const KILL = 'Memory cgroup out of memory: Killed process 28811 (mariadbd) total-vm:4215332kB, anon-rss:2062148kB, file-rss:0kB, shmem-rss:0kB\n';

beforeAll(async () => {
  await mkdir(DIR, { recursive: true });
  await writeFile(join(DIR, 'oom.txt'), KILL);
  await writeFile(join(DIR, 'notes.txt'), 'the server died at 3 a.m.\nwe restarted it\n');
  await writeFile(join(DIR, 'inspect.json'), '{"hello": 1}');
  await writeFile(join(DIR, 'pod.yaml'), 'apiVersion: v1\nkind: Pod\nspec:\n  containers: [\n');
  await writeFile(join(DIR, 'empty.cnf'), '# nothing\n');
  await writeFile(join(DIR, 'my.cnf'), '[mysqld]\ninnodb_buffer_pool_size = 1536M\n');
  await writeFile(join(DIR, 'boot.txt'), '[    0.000000] Linux version 6.1.0-18-amd64\n[    1.204311] random: crng init done\n');
});
afterAll(() => rm(DIR, { recursive: true, force: true }));

async function fromIncident(...args: string[]) {
  const result = await execa(process.execPath, ['--import', 'tsx', join(ROOT, 'src/9-cli/main.ts'), 'from-incident', ...args], { cwd: DIR, reject: false, stdin: 'ignore' });
  const written = await readdir(join(DIR, 'scenarios')).catch(() => []);
  return { code: result.exitCode, stderr: result.stderr, stdout: result.stdout, written };
}

// Each case starts the real CLI (node + tsx): seconds on a busy 2-core host, so a generous timeout.
describe('oomlab from-incident, bad input', { timeout: 60_000 }, () => {
  it.each([
    [['missing.txt'], 'oomlab: IncidentInputError: from-incident: cannot read missing.txt (ENOENT); give a readable file, or - for standard input'],
    [
      ['notes.txt'],
      "oomlab: IncidentInputError: from-incident: notes.txt: nothing oomlab can read; give the kernel's OOM lines (dmesg), a my.cnf, SHOW GLOBAL VARIABLES, /proc/<pid>/limits, ulimit -a, docker inspect JSON, a compose file or a Kubernetes manifest",
    ],
    [['oom.txt', 'inspect.json'], 'oomlab: IncidentInputError: from-incident: inspect.json: JSON that is not `docker inspect` output; give the output of `docker inspect <container>`'],
    [
      ['oom.txt', 'pod.yaml'],
      expect.stringMatching(/^oomlab: IncidentInputError: from-incident: pod\.yaml: cannot read the YAML \(.+\); give the compose file or the Kubernetes manifest as written$/),
    ],
    [
      ['oom.txt', '--mycnf', 'empty.cnf'],
      'oomlab: IncidentInputError: from-incident: empty.cnf: --mycnf names no server setting; give the [mysqld] section of my.cnf or the output of SHOW GLOBAL VARIABLES',
    ],
    [['oom.txt', '--limit', 'lots'], 'oomlab: IncidentInputError: from-incident: --limit "lots" is not a size; write it like 2g, 1536m or a number of bytes'],
    [
      ['boot.txt'],
      "oomlab: IncidentInputError: from-incident: boot.txt: a kernel log with no OOM kill in it; give the lines around the kill (dmesg -T | grep -B40 -A5 'Killed process', or journalctl -k from the day it died)",
    ],
    [
      ['oom.txt', '--mycnf', 'my.cnf', '--limit', '2g', '--out', '/tmp/elsewhere.ts'],
      expect.stringMatching(/^oomlab: UsageError: --out \/tmp\/elsewhere\.ts is outside .*: a scenario imports 'oomlab', which resolves only inside the project; give a path under scenarios\/$/),
    ],
    [['oom.txt', '--phase', 'later'], 'oomlab: UsageError: --phase takes start-up, under-load, after-load, got `later`'],
    [[], expect.stringMatching(/^oomlab: UsageError: from-incident needs what production left/)],
  ])('%j: one line, exit 2, nothing written', async (args, message) => {
    const { code, stderr, written } = await fromIncident(...args);
    expect(stderr).toEqual(message);
    expect(code).toBe(2);
    expect(written).toEqual([]);
  });
});

describe('oomlab from-incident, a name already taken', { timeout: 60_000 }, () => {
  it('refuses a --name whose scenario exists, in one line, and writes nothing', async () => {
    await mkdir(join(DIR, 'scenarios'), { recursive: true });
    await writeFile(join(DIR, 'scenarios', 'incident-dba.ts'), '// the user’s own\n');
    const { code, stderr, written } = await fromIncident('oom.txt', '--mycnf', 'my.cnf', '--limit', '2g', '--name', 'incident-dba', '--run');
    expect(stderr).toBe(
      'oomlab: UsageError: --name incident-dba: scenarios/incident-dba.ts exists already; run it as it is (./oomlab run scenarios/incident-dba.ts), remove it to write it again, or give another --name',
    );
    expect(code).toBe(2);
    expect(written).toEqual(['incident-dba.ts']);
    await rm(join(DIR, 'scenarios'), { recursive: true, force: true });
  });

  it('without --name, takes the next free name and says so on stderr', async () => {
    await mkdir(join(DIR, 'scenarios'), { recursive: true });
    await writeFile(join(DIR, 'scenarios', 'incident-mariadbd-buffer-pool.ts'), '// an earlier incident\n');
    const { code, stderr, stdout, written } = await fromIncident('oom.txt', '--mycnf', 'my.cnf', '--limit', '2g');
    expect(code).toBe(0);
    expect(stderr).toBe(
      'scenarios/incident-mariadbd-buffer-pool.ts exists: wrote scenarios/incident-mariadbd-buffer-pool-2.ts instead (scenario incident-mariadbd-buffer-pool-2; its reports go to reports/<time>-incident-mariadbd-buffer-pool-2/)',
    );
    expect(stdout).toContain('scenario: scenarios/incident-mariadbd-buffer-pool-2.ts');
    expect(written.sort()).toEqual(['incident-mariadbd-buffer-pool-2.ts', 'incident-mariadbd-buffer-pool.ts']);
    await rm(join(DIR, 'scenarios'), { recursive: true, force: true });
  });
});
