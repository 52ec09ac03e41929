// The lab a global OOM is reproduced in: production's machine size from --limit, the kernel's `pages RAM`, or memory=.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEvidence } from '../../src/2-plan/index.ts';
import { incidentHost } from '../../src/9-cli/commands/from-incident.ts';

const INCIDENTS = join(import.meta.dirname, '..', 'fixtures', 'incidents');
const kernelLog = (id: string) => readFile(join(INCIDENTS, id, 'kernel.log'), 'utf8');
const MEMCG = 'Memory cgroup out of memory: Killed process 28811 (mariadbd) total-vm:4215332kB, anon-rss:2062148kB, file-rss:0kB, shmem-rss:0kB';

describe('incidentHost', () => {
  it("sizes the lab to production's machine for a global OOM: --limit first, else the kernel's pages RAM", async () => {
    const bitnami = readEvidence([{ name: 'kernel.log', text: await kernelLog('bitnami-vms-927-neighbours') }], { limit: '2g' });
    expect(incidentHost('lab', bitnami)).toEqual({ host: 'lab,memory=2048m', globalLab: { host: 'lab,memory=2048m', memoryBytes: 2 * 1024 ** 3, source: '--limit' } });
    const minikube = readEvidence([{ name: 'kernel.log', text: await kernelLog('minikube-5751-nofile') }]);
    expect(incidentHost('lab:nofile', minikube)).toEqual({
      host: 'lab:nofile,memory=6000m',
      globalLab: { host: 'lab:nofile,memory=6000m', memoryBytes: 6000 * 1024 ** 2, source: 'kernel: 1535902 pages RAM' },
    });
  });

  it('keeps a memory= the user gave, and leaves a memcg kill or no --host alone', async () => {
    const bitnami = readEvidence([{ name: 'kernel.log', text: await kernelLog('bitnami-vms-927-neighbours') }], { limit: '2g' });
    expect(incidentHost('lab:default,memory=3g', bitnami).globalLab).toEqual({ host: 'lab:default,memory=3g', memoryBytes: 3 * 1024 ** 3, source: '--host lab:default,memory=3g' });
    const memcg = readEvidence([{ name: 'oom.txt', text: MEMCG }], { limit: '2g' });
    expect(incidentHost('lab:v1', memcg)).toEqual({ host: 'lab:v1' });
    expect(incidentHost('docker', bitnami)).toEqual({ host: 'docker' });
    expect(incidentHost(undefined, bitnami)).toEqual({});
  });

  it('says what to give when the machine of a global OOM is unknown, and rejects a host it cannot run', async () => {
    const containerd = readEvidence([{ name: 'kernel.log', text: await kernelLog('containerd-7566-nofile') }]);
    expect(() => incidentHost('lab:nofile', containerd)).toThrow(
      "production's OOM was global but its machine's memory is unknown: give --limit SIZE (the machine's memory) or --host lab:nofile,memory=SIZE — e.g. --limit 2g for a t3.small",
    );
    expect(() => incidentHost('vm', containerd)).toThrow('--host takes docker, lab or lab:SHAPE[,memory=SIZE], got `vm` — e.g. --host lab:nofile or --host lab:default,memory=2g');
    const minikube = readEvidence([{ name: 'kernel.log', text: await kernelLog('minikube-5751-nofile') }]);
    expect(() => incidentHost('lab:numa2', minikube)).toThrow(
      'lab host `lab:numa2,memory=6000m`: lab:numa2 has 2 NUMA nodes whose sizes make its memory; memory= resizes only a shape without NUMA nodes',
    );
  });
});
