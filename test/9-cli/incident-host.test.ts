// The lab a global OOM is reproduced in: production's machine size from --limit, the kernel's `pages RAM`, or memory=.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagnose, readEvidence } from '../../src/2-plan/index.ts';
import { incidentHost } from '../../src/9-cli/commands/from-incident.ts';

const INCIDENTS = join(import.meta.dirname, '..', 'fixtures', 'incidents');
const kernelLog = (id: string) => readFile(join(INCIDENTS, id, 'kernel.log'), 'utf8');
const MEMCG = 'Memory cgroup out of memory: Killed process 28811 (mariadbd) total-vm:4215332kB, anon-rss:2062148kB, file-rss:0kB, shmem-rss:0kB';

describe('incidentHost', () => {
  it("sizes the lab to production's machine for a global OOM: --limit first, else the kernel's pages RAM", async () => {
    const bitnami = readEvidence([{ name: 'kernel.log', text: await kernelLog('bitnami-vms-927-neighbours') }], { limit: '2g' });
    // Neighbours: the scenario's own neighbours are what the machine held beside the server, so no room.
    expect(incidentHost('lab', bitnami, 'neighbours')).toEqual({
      host: 'lab,memory=2048m,min_ttl_ms=1000',
      globalLab: { host: 'lab,memory=2048m,min_ttl_ms=1000', memoryBytes: 2 * 1024 ** 3, machineBytes: 2 * 1024 ** 3, source: '--limit' },
    });
    const minikube = readEvidence([{ name: 'kernel.log', text: await kernelLog('minikube-5751-nofile') }]);
    // Any other cause: the room is what mysqld held at the kill (anon-rss 4469476 kB + file-rss 4 kB), the rest of the
    // 6000 MiB machine (minikube's Kubernetes) held by a ballast.
    expect(incidentHost('lab:nofile', minikube, 'nofile-file-table')).toEqual({
      host: 'lab:nofile,memory=6000m,room=4365m,min_ttl_ms=1000',
      globalLab: {
        host: 'lab:nofile,memory=6000m,room=4365m,min_ttl_ms=1000',
        memoryBytes: 6000 * 1024 ** 2,
        machineBytes: 6000 * 1024 ** 2,
        roomBytes: 4365 * 1024 ** 2,
        source: 'kernel: 1535902 pages RAM',
      },
    });
  });

  it("grows the VM where the guest's own system leaves less than production's room, and needs no machine size for a room", async () => {
    // The low-memory VM: mysqld held 437 368 kB of a 512 MiB machine; a booted guest's own kernel and engine keep
    // about 247 MiB of 656, so the VM grows to 736 MiB and a ballast trims what it has available to 427 MiB.
    const lowmem = readEvidence([{ name: 'kernel.log', text: await kernelLog('lowmem-vm-perfschema') }], { limit: '512m' });
    expect(incidentHost('lab', lowmem, 'performance-schema')).toEqual({
      host: 'lab,memory=736m,room=427m,min_ttl_ms=1000',
      globalLab: {
        host: 'lab,memory=736m,room=427m,min_ttl_ms=1000',
        memoryBytes: 736 * 1024 ** 2,
        machineBytes: 512 * 1024 ** 2,
        roomBytes: 427 * 1024 ** 2,
        source: "--limit; grown from 512 MiB, as the guest's own system leaves less than production's room of 427 MiB there",
      },
    });
    // containerd#7566 names no machine size ("a very beefy node"): the room alone sizes the VM.
    const containerd = readEvidence([{ name: 'kernel.log', text: await kernelLog('containerd-7566-nofile') }]);
    expect(incidentHost('lab:nofile', containerd, 'nofile-file-table')).toEqual({
      host: 'lab:nofile,memory=16256m,room=15016m,min_ttl_ms=1000',
      globalLab: {
        host: 'lab:nofile,memory=16256m,room=15016m,min_ttl_ms=1000',
        memoryBytes: 16_256 * 1024 ** 2,
        roomBytes: 15_016 * 1024 ** 2,
        source: "production's machine unknown: the least VM that leaves the server production's room of 15016 MiB",
      },
    });
    // A room or a memory the user gave is theirs.
    const minikube = readEvidence([{ name: 'kernel.log', text: await kernelLog('minikube-5751-nofile') }]);
    expect(incidentHost('lab:nofile,room=4g', minikube, 'nofile-file-table').host).toBe('lab:nofile,memory=6000m,room=4g,min_ttl_ms=1000');
    expect(incidentHost('lab:nofile,memory=8g', minikube, 'nofile-file-table').host).toBe('lab:nofile,memory=8g,room=4365m,min_ttl_ms=1000');
  });

  it("sizes it from an old kill line's score when the report has no pages RAM: the victim's share of the machine, in thousandths", async () => {
    // The article's 8 GB host: `score 934` for mysqld (UID 27) with 7,444,620 kB resident.
    const fulltext = readEvidence([{ name: 'kernel.log', text: await kernelLog('fulltext-tcmalloc-allocator') }]);
    expect(fulltext.kill).toMatchObject({ score: 934, uid: 27 });
    expect(incidentHost('lab', fulltext, 'neighbours')).toEqual({
      host: 'lab,memory=7784m,min_ttl_ms=1000',
      globalLab: {
        host: 'lab,memory=7784m,min_ttl_ms=1000',
        memoryBytes: 7784 * 1024 ** 2,
        machineBytes: 7784 * 1024 ** 2,
        source: 'kernel: score 934 of mysqld, whose 7444620 kB resident is 934 ‰ of the machine (oom_score_adj taken as 0): about 7784 MiB',
      },
    });
    // The low-memory VM's root mysqld, `score 842`: 492 MiB, where its page says `free -m` showed 490 MB. A lab VM
    // needs 512 MiB for its own engine, so it says so instead of booting a machine production did not have.
    const lowmem = readEvidence([{ name: 'kernel.log', text: await kernelLog('lowmem-vm-perfschema') }]);
    expect(lowmem.machineBytes?.source).toBe('kernel: score 842 of mysqld, whose 437368 kB resident is 868 ‰ of the machine (less 3 % for a root process, oom_score_adj taken as 0): about 492 MiB');
    expect(() => incidentHost('lab', lowmem, 'neighbours')).toThrow(
      "production's machine had about 492 MiB (kernel: score 842 of mysqld, whose 437368 kB resident is 868 ‰ of the machine (less 3 % for a root process, oom_score_adj taken as 0): about 492 MiB), below the 512 MiB a lab VM needs for its own engine: run without --host (a container limit of 492m stands in for the machine), or give --host lab:default,memory=512m to accept a larger machine",
    );
    expect(incidentHost('lab', readEvidence([{ name: 'kernel.log', text: await kernelLog('lowmem-vm-perfschema') }], { limit: '512m' }), 'neighbours').host).toBe('lab,memory=512m,min_ttl_ms=1000');
    // A newcomer's own incident, an EC2 t1.micro (613 MiB by AWS's spec; the page does not say), from
    // https://www.vivaolinux.com.br/dica/MySQL-Amazon-Web-Services-AWS-EC2-e-Out-of-Memory-OOM (2013), verbatim:
    const t1micro = readEvidence([
      {
        name: 'oom.txt',
        text: [
          'Feb 12 06:27:55 ip-xx.xx.xx.xx kernel: [8495594.190585] Out of memory: Kill process 746 (mysqld) score 143 or sacrifice child',
          'Feb 12 06:27:55 ip-xx.xx.xx.xx kernel: [8495594.190600] Killed process 746 (mysqld) total-vm:886216kB, anon-rss:86132kB, file-rss:0kB',
        ].join('\n'),
      },
    ]);
    expect(incidentHost('lab', t1micro, 'neighbours').host).toBe('lab,memory=588m,min_ttl_ms=1000');
    // With a room (86 132 kB at the kill), the machine of 588 MiB can leave it as it is.
    expect(incidentHost('lab', t1micro, 'connections').host).toBe('lab,memory=588m,room=84m,min_ttl_ms=1000');
    // The diagnosis does not weigh a size nobody confirmed, but says what the lines suggest where it asks for --limit.
    expect(diagnose(t1micro).collect).toContain(
      "the machine's memory, as --limit (a global OOM's budget is the machine): `free -m` or `grep MemTotal /proc/meminfo` on it, or the kernel's `… pages RAM` line; the kernel's lines suggest about 588 MiB (score 143 of mysqld, whose 86132 kB resident is 143 ‰ of the machine (oom_score_adj taken as 0): about 588 MiB), which a lab run (--host lab) takes, but a diagnosis weighs only a size you confirm",
    );
    // minikube's `score 1663` holds an oom_score_adj nobody printed (above 1000): its size comes from pages RAM alone.
    const minikube = readEvidence([{ name: 'kernel.log', text: (await kernelLog('minikube-5751-nofile')).replace(/^.*pages RAM.*$/m, '') }]);
    expect(minikube.kill?.score).toBe(1663);
    expect(minikube.machineBytes).toBeUndefined();
    // A memcg's score is a share of its limit, not of the machine.
    expect(
      readEvidence([
        {
          name: 'oom.txt',
          text: 'Memory cgroup out of memory: Kill process 3161 (mysqld) score 245 or sacrifice child\nKilled process 3161 (mysqld) total-vm:977148kB, anon-rss:122488kB, file-rss:0kB',
        },
      ]).machineBytes,
    ).toBeUndefined();
  });

  it('keeps a memory= the user gave, and leaves a memcg kill or no --host alone', async () => {
    const bitnami = readEvidence([{ name: 'kernel.log', text: await kernelLog('bitnami-vms-927-neighbours') }], { limit: '2g' });
    expect(incidentHost('lab:default,memory=3g', bitnami, 'neighbours').globalLab).toEqual({
      host: 'lab:default,memory=3g,min_ttl_ms=1000',
      memoryBytes: 3 * 1024 ** 3,
      machineBytes: 3 * 1024 ** 3,
      source: '--host lab:default,memory=3g',
    });
    const memcg = readEvidence([{ name: 'oom.txt', text: MEMCG }], { limit: '2g' });
    expect(incidentHost('lab:v1', memcg)).toEqual({ host: 'lab:v1' });
    expect(incidentHost('docker', bitnami)).toEqual({ host: 'docker' });
    expect(incidentHost(undefined, bitnami)).toEqual({});
  });

  it('says what to give when the machine of a global OOM is unknown, and rejects a host it cannot run', async () => {
    const containerd = readEvidence([{ name: 'kernel.log', text: await kernelLog('containerd-7566-nofile') }]);
    expect(() => incidentHost('lab:nofile', containerd, 'neighbours')).toThrow(
      "production's OOM was global but its machine's memory is unknown: give --limit SIZE (the machine's memory) or --host lab:nofile,memory=SIZE — e.g. --limit 2g for a t3.small",
    );
    expect(() => incidentHost('vm', containerd)).toThrow('--host takes docker, lab or lab:SHAPE[,memory=SIZE], got `vm` — e.g. --host lab:nofile or --host lab:default,memory=2g');
    const minikube = readEvidence([{ name: 'kernel.log', text: await kernelLog('minikube-5751-nofile') }]);
    expect(() => incidentHost('lab:numa2', minikube)).toThrow(
      'lab host `lab:numa2,memory=6000m,room=4365m,min_ttl_ms=1000`: lab:numa2 has 2 NUMA nodes whose sizes make its memory; memory= resizes only a shape without NUMA nodes',
    );
  });
});
