import { readFile, readdir } from 'node:fs/promises';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { DoctorCheck } from '../../src/9-cli/doctor.ts';
import { numaSkipReason } from '../../src/2-plan/index.ts';
import { onPath, parseNofileHardLimit } from '../../src/4-observe/index.ts';
import { imageMissingReason, recipeHash } from '../../src/3-runtime/docker/index.ts';
import { runCli } from './helpers.ts';

// The facts are read here independently of the harness, so the test holds on any host.
describe('oomlab doctor', () => {
  it('prints one line per fact, correct for this host, and changes nothing', async () => {
    const thpBefore = await readFile('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').catch(() => '');
    const result = await runCli(['doctor']);
    expect(result.exitCode, result.all).toBe(0);
    const lines = result.stdout.split('\n');
    const line = (name: string) => lines.find((l) => l.slice(6).startsWith(name)) ?? '';

    const hard = parseNofileHardLimit(await readFile('/proc/self/limits', 'utf8'));
    expect(line('nofile ceiling')).toContain(`hard limit ${hard}`);
    const nodes = (await readdir('/sys/devices/system/node').catch(() => [])).filter((n) => /^node\d+$/.test(n)).length || 1;
    expect(line('NUMA')).toContain(`${nodes} node`);
    if (numaSkipReason(nodes)) expect(line('NUMA')).toContain(`skipped: ${numaSkipReason(nodes)}`);
    expect(line('k6')).toMatch((await onPath('k6')) ? /^ok/ : /^no .*not on PATH/);
    expect(line('registry')).toMatch(/never contacts a registry unless run with --pull/);
    expect(line('docker engine')).toMatch(/^ok {4}docker engine +answers at .*Docker \d+\.\d+/);
    // The integration set-up leaves the offline image built from today's recipe and checked.
    expect(line('image oomlab/mariadb:10.11')).toMatch(new RegExp(`^ok {4}image oomlab/mariadb:10\\.11 +good: recipe hash ${await recipeHash('mariadb-10.11')}, checks pass$`));
    // The integration set-up starts dockerd the way `oomlab run` does, so the proxy is off unless the host's own dockerd runs.
    const dockerdArgs = (await execa('sh', ['-c', 'cat /proc/$(pidof dockerd)/cmdline | tr "\\0" " "'])).stdout;
    expect(line('port publishing')).toMatch(dockerdArgs.includes('--userland-proxy=false') ? /^ok {4}port publishing +iptables DNAT/ : /docker-proxy carries every connection/);
    // The same words a run's skip reason uses.
    expect(line('image mysql:5.7')).toContain(imageMissingReason('mysql:5.7'));
    expect(line('cgroup')).toMatch(/^(ok|no ) {2,}cgroup +v[12], memory controller/);
    expect(line('kernel log')).toMatch(/dmesg (not )?readable/);
    expect(line('THP')).toMatch(/mode \w+/);
    const capEff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(await readFile('/proc/self/status', 'utf8'))![1]}`);
    expect(line('oom_score_adj')).toMatch((capEff >> 24n) & 1n ? /^ok .*CAP_SYS_RESOURCE held/ : /needs CAP_SYS_RESOURCE.*skipped/);
    expect(line('syscall tracer')).toMatch(/bpftrace/);
    expect(await readFile('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').catch(() => '')).toBe(thpBefore);
  });

  it('gives the same checks as JSON', async () => {
    const result = await runCli(['doctor', '--json']);
    expect(result.exitCode, result.all).toBe(0);
    const checks = JSON.parse(result.stdout) as DoctorCheck[];
    expect(checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['docker engine', 'registry', 'nofile ceiling', 'cgroup', 'kernel log', 'NUMA', 'THP', 'k6', 'syscall tracer', 'port publishing', 'oom_score_adj']),
    );
    for (const check of checks) expect(['ok', 'limited', 'missing']).toContain(check.status);
  });
});
