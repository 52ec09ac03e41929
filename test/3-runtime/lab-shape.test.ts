import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAB_SHAPES, labKernelCmdline, labMemoryForRoom, labQemuArgs, labShapeOf, labShapeProblems, type LabShape } from '../../src/3-runtime/lab/index.ts';
import { probeBooted } from '../../src/3-runtime/lab/accel.ts';

const FILES = { kernel: '/c/vmlinuz', initrd: '/c/initrd.img', disk: '/c/disk.img', pidFile: '/run/oomlab/lab/r1/vm-1/qemu.pid', consoleLog: '/run/oomlab/lab/r1/vm-1/console.log' };
const PORTS = { engine: 40001, agent: 40002 };

describe('lab shape → kernel command line', () => {
  it('puts the default shape (cgroup v2, THP madvise, overcommit 0) on the kernel command line', () => {
    expect(labKernelCmdline(LAB_SHAPES.default)).toBe(
      'root=/dev/vda rw console=ttyS0 panic=-1 net.ifnames=0 apparmor=0 systemd.unified_cgroup_hierarchy=1 transparent_hugepage=madvise sysctl.vm.overcommit_memory=0',
    );
  });

  it('asks systemd for the hybrid v1 hierarchy', () => {
    expect(labKernelCmdline(LAB_SHAPES.v1)).toContain(' systemd.unified_cgroup_hierarchy=0 ');
  });

  it("hands the runtimes' nofile and fs.nr_open to the guest's generator, and overcommit to the kernel", () => {
    expect(labKernelCmdline(LAB_SHAPES.nofile)).toBe(
      'root=/dev/vda rw console=ttyS0 panic=-1 net.ifnames=0 apparmor=0 systemd.unified_cgroup_hierarchy=1 transparent_hugepage=madvise sysctl.vm.overcommit_memory=1 sysctl.fs.nr_open=1073741816 oomlab.nr_open=1073741816 oomlab.nofile=1073741816',
    );
    expect(labKernelCmdline({ ...LAB_SHAPES.default, runtimeNofile: 'infinity', thp: 'always' })).toContain('transparent_hugepage=always sysctl.vm.overcommit_memory=0 oomlab.nofile=infinity');
  });
});

describe('lab shape → qemu arguments', () => {
  it('boots the default shape from a disk it never writes, reachable only through two forwards on 127.0.0.1', () => {
    expect(labQemuArgs(LAB_SHAPES.default, 'tcg', FILES, PORTS, 'oomlab-lab-r1-vm-1')).toEqual([
      '-name',
      'oomlab-lab-r1-vm-1',
      '-machine',
      'pc',
      '-accel',
      'tcg',
      '-cpu',
      'max',
      '-smp',
      '2',
      '-m',
      '2048M',
      '-kernel',
      '/c/vmlinuz',
      '-initrd',
      '/c/initrd.img',
      '-append',
      labKernelCmdline(LAB_SHAPES.default),
      '-drive',
      'file=/c/disk.img,format=raw,if=virtio,snapshot=on',
      '-netdev',
      'user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40001-:2375,hostfwd=tcp:127.0.0.1:40002-:9100',
      '-device',
      'virtio-net-pci,netdev=net0,romfile=',
      '-device',
      'virtio-rng-pci',
      '-nodefaults',
      '-display',
      'none',
      '-serial',
      'file:/run/oomlab/lab/r1/vm-1/console.log',
      '-no-reboot',
      '-pidfile',
      '/run/oomlab/lab/r1/vm-1/qemu.pid',
    ]);
  });

  it('gives each NUMA node its own memory backend and vCPUs', () => {
    const args = labQemuArgs(LAB_SHAPES.numa2, 'kvm', FILES, PORTS, 'n');
    const at = args.indexOf('-object');
    expect(args.slice(at, at + 8)).toEqual([
      '-object',
      'memory-backend-ram,id=mem0,size=1536M',
      '-numa',
      'node,nodeid=0,cpus=0,memdev=mem0',
      '-object',
      'memory-backend-ram,id=mem1,size=1536M',
      '-numa',
      'node,nodeid=1,cpus=1,memdev=mem1',
    ]);
    expect(args.slice(args.indexOf('-m'), args.indexOf('-m') + 2)).toEqual(['-m', '3072M']);
    expect(args.slice(args.indexOf('-cpu'), args.indexOf('-cpu') + 2)).toEqual(['-cpu', 'host']);
  });

  it('writes contiguous vCPUs of a node as one range', () => {
    const shape: LabShape = {
      ...LAB_SHAPES.default,
      vcpus: 4,
      numaNodes: [
        { memoryMiB: 1024, cpus: [0, 1, 3] },
        { memoryMiB: 1024, cpus: [2] },
      ],
    };
    expect(labQemuArgs(shape, 'tcg', FILES, PORTS, 'n')).toContain('node,nodeid=0,cpus=0-1,cpus=3,memdev=mem0');
  });

  it('refuses a shape whose nodes do not add up, naming what it received', () => {
    const shape: LabShape = {
      ...LAB_SHAPES.default,
      numaNodes: [
        { memoryMiB: 1024, cpus: [0] },
        { memoryMiB: 512, cpus: [0] },
      ],
    };
    expect(labShapeProblems(shape)).toEqual(["the NUMA nodes' memory adds up to 1536 MiB, not memoryMiB 2048", "the NUMA nodes' cpus must be 0..1 once each, got 0,0"]);
    expect(() => labQemuArgs(shape, 'tcg', FILES, PORTS, 'n')).toThrow(
      "lab shape: the NUMA nodes' memory adds up to 1536 MiB, not memoryMiB 2048; the NUMA nodes' cpus must be 0..1 once each, got 0,0",
    );
  });

  it('refuses a runtime nofile above fs.nr_open', () => {
    expect(labShapeProblems({ ...LAB_SHAPES.default, nrOpen: 1_048_576, runtimeNofile: 1_073_741_816 })).toEqual([
      'runtimeNofile must be infinity, N or SOFT:HARD with 1 ≤ SOFT ≤ HARD ≤ fs.nr_open 1048576, got 1073741816',
    ]);
    expect(labShapeProblems({ ...LAB_SHAPES.default, runtimeNofile: '4096:1024' })).toEqual([
      'runtimeNofile must be infinity, N or SOFT:HARD with 1 ≤ SOFT ≤ HARD ≤ fs.nr_open 1073741816, got 4096:1024',
    ]);
  });

  it('gives the runtime shapes one guest and three units: only LimitNOFILE differs, as systemd reads it', () => {
    const { runtimeNofile: _a, ...docker2019 } = LAB_SHAPES['docker-2019'];
    const { runtimeNofile: _b, ...containerd } = LAB_SHAPES['containerd-infinity'];
    const { runtimeNofile: _c, ...today } = LAB_SHAPES['runtime-today'];
    expect(containerd).toEqual(docker2019);
    expect(today).toEqual(docker2019);
    expect(labKernelCmdline(LAB_SHAPES['docker-2019'])).toContain('sysctl.fs.nr_open=1073741816 oomlab.nr_open=1073741816 oomlab.nofile=1048576');
    expect(labKernelCmdline(LAB_SHAPES['containerd-infinity'])).toContain('sysctl.fs.nr_open=1073741816 oomlab.nr_open=1073741816 oomlab.nofile=infinity');
    expect(labKernelCmdline(LAB_SHAPES['runtime-today'])).toContain('sysctl.fs.nr_open=1073741816 oomlab.nr_open=1073741816 oomlab.nofile=1024:524288');
    for (const name of ['docker-2019', 'containerd-infinity', 'runtime-today'] as const) expect(labShapeProblems(LAB_SHAPES[name])).toEqual([]);
  });
});

describe('--host lab[:SHAPE]', () => {
  it('names the default shape and the named ones', () => {
    expect(labShapeOf('lab')).toEqual({ name: 'default', shape: LAB_SHAPES.default });
    expect(labShapeOf('lab:numa2').shape).toBe(LAB_SHAPES.numa2);
    expect(labShapeOf('lab:numa2-uneven').shape.numaNodes?.map((node) => node.memoryMiB)).toEqual([2560, 1024]);
  });

  it("sets a shape's memory with memory=SIZE (production's machine for a global OOM), in m or g", () => {
    expect(labShapeOf('lab:default,memory=2g')).toEqual({ name: 'default', shape: { ...LAB_SHAPES.default, memoryMiB: 2048 } });
    expect(labShapeOf('lab,memory=6000m').shape.memoryMiB).toBe(6000);
    expect(labShapeOf('lab:nofile,memory=1.5g').shape).toEqual({ ...LAB_SHAPES.nofile, memoryMiB: 1536 });
  });

  it("leaves a room with room=SIZE (what production's server had on a machine that ran other things), and sizes a guest that can leave it", () => {
    expect(labShapeOf('lab:nofile,memory=6000m,room=4365m').shape).toEqual({ ...LAB_SHAPES.nofile, memoryMiB: 6000, roomMiB: 4365 });
    expect(labShapeOf('lab:numa2,room=1g').shape.roomMiB).toBe(1024);
    // The multi-gen LRU's thrashing prevention, by the kernel command line (the guest's generator writes it at boot).
    expect(labShapeOf('lab,memory=736m,room=427m,min_ttl_ms=1000').shape).toMatchObject({ memoryMiB: 736, roomMiB: 427, minTtlMs: 1000 });
    expect(labKernelCmdline(labShapeOf('lab,min_ttl_ms=1000').shape)).toContain(' oomlab.min_ttl_ms=1000');
    expect(() => labShapeOf('lab,min_ttl_ms=1s')).toThrow('lab host `lab,min_ttl_ms=1s`: min_ttl_ms takes a whole number of milliseconds, got `1s` — e.g. min_ttl_ms=1000');
    expect(() => labShapeOf('lab,min_ttl_ms=0')).toThrow('lab shape: minTtlMs must be a whole number of ms from 1 to 60000, got 0');
    // 210 MiB + 6 % for the booted guest's own system (247 MiB of 656 and 553 of 6000 measured), and 48 MiB for the ballast, in steps of 16 MiB.
    expect(labMemoryForRoom(427)).toBe(736);
    expect(labMemoryForRoom(4365)).toBe(4928);
    expect(labMemoryForRoom(100)).toBe(512);
  });

  it('refuses an unknown option, a size without its unit, a guest too small, and a NUMA shape resized, each in one line', () => {
    expect(() => labShapeOf('lab:default,cpus=4')).toThrow('lab host `lab:default,cpus=4`: unknown option `cpus=4`; options are memory=SIZE, room=SIZE, min_ttl_ms=N, e.g. lab:default,memory=2g');
    expect(() => labShapeOf('lab,memory=1g,room=1g')).toThrow("lab shape: roomMiB must be a whole number of MiB below memoryMiB 1024 (the guest's own system needs the rest), got 1024");
    expect(() => labShapeOf('lab,room=big')).toThrow('lab host `lab,room=big`: room takes a size in m or g, got `big` — e.g. room=2g or room=6000m');
    expect(() => labShapeOf('lab,memory=2048')).toThrow('lab host `lab,memory=2048`: memory takes a size in m or g, got `2048` — e.g. memory=2g or memory=6000m');
    expect(() => labShapeOf('lab,memory=256m')).toThrow("lab shape: memoryMiB must be an integer of at least 512 (the guest's engine needs it), got 256");
    expect(() => labShapeOf('lab:numa2,memory=4g')).toThrow('lab host `lab:numa2,memory=4g`: lab:numa2 has 2 NUMA nodes whose sizes make its memory; memory= resizes only a shape without NUMA nodes');
  });

  it('lists the shapes when the name is unknown', () => {
    expect(() => labShapeOf('lab:numa9')).toThrow(
      'unknown lab host `lab:numa9`; use lab or lab:SHAPE with SHAPE one of default, v1, numa2, numa2-uneven, nofile, docker-2019, containerd-infinity, runtime-today',
    );
  });

  it('every named shape is one qemu can run', () => {
    for (const shape of Object.values(LAB_SHAPES)) expect(labShapeProblems(shape)).toEqual([]);
  });
});

describe('the KVM probe', () => {
  it('counts a guest kernel that reached its root mount as booted', () => {
    expect(probeBooted('[    0.812345] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)')).toBe(true);
    expect(probeBooted('qemu-system-x86_64: error: failed to set MSR 0x10a to 0x0')).toBe(false);
  });
});

describe('docs/lab.md', () => {
  it('lists every named shape, as `--host lab:NAME` takes them', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../docs/lab.md'), 'utf8');
    const listed = /Named shapes[^:]*: (.*?) \(`labShapeOf/s.exec(doc)?.[1] ?? '';
    expect([...listed.matchAll(/`([^`]+)`/g)].map((m) => m[1])).toEqual(Object.keys(LAB_SHAPES));
  });
});
