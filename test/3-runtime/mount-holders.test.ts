import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { byHandAdvice } from '../../src/3-runtime/docker/cleanup.ts';
import { describeRelease, layerMounts, layerOf, parseMountInfo, planRelease, type ContainerLayer, type ProcessView } from '../../src/3-runtime/docker/mount-holders.ts';

// Captured on this project's machine (dockerd 20.10, overlay2, kernel 6.18) with a container of
// oomlab/mariadb:10.11 running: the host's view, the container's own view, the view of a process that
// unshared its mount namespace while the container ran, and the container's GraphDriver from inspect.
const FIXTURES = join(import.meta.dirname, '../fixtures/mountinfo');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const CONTAINER_ID = '400ef8d763201d712fb2d5ce660e4aa7e33d686ef820fe550069f93ea2f05ac8';
const LAYER_DIR = '/var/lib/docker/overlay2/0d895535daf183542f6b604b8d88112dead07a7aeb3e9e4dead324034cb08d5d';
const HOST_NS = 'mnt:[4026531832]';
const UNSHARED_NS = 'mnt:[4026532253]';
const CONTAINER_NS = 'mnt:[4026532250]';

const layer = layerOf(JSON.parse(fixture('graphdriver-overlay2.json')) as { Data: Record<string, string> })!;
const view = (pid: number, mountNamespace: string, mountinfo: string, cgroup = '0::/\n', comm = 'sleep'): ProcessView => ({ pid, comm, mountNamespace, cgroup, mountinfo });

describe('mountinfo', () => {
  it('reads every field of an overlay line, past the optional fields', () => {
    const entries = parseMountInfo(fixture('host-with-container-running.txt'));
    expect(entries).toHaveLength(23);
    expect(entries.find((e) => e.fsType === 'overlay')).toEqual({
      mountId: 49,
      parentId: 44,
      root: '/',
      mountPoint: `${LAYER_DIR}/merged`,
      fsType: 'overlay',
      source: 'overlay',
      superOptions: [
        'rw',
        'lowerdir=/var/lib/docker/overlay2/l/LVYZGRFRD2BMDP2AFY6EEDWXFR:/var/lib/docker/overlay2/l/33NUQ45H4HEFK4SGU43FMLZTGV',
        `upperdir=${LAYER_DIR}/diff`,
        `workdir=${LAYER_DIR}/work`,
      ],
    });
    expect(entries.find((e) => e.mountPoint === '/run/docker/netns/b4011795feaf')).toMatchObject({ root: 'net:[4026532184]', fsType: 'nsfs' });
  });

  it('unescapes octal escapes and skips lines that are not mountinfo', () => {
    const [entry, ...rest] = parseMountInfo('120 26 0:50 / /mnt/with\\040space\\134x rw,relatime - tmpfs my\\011tmp rw\n\nnot a line\n');
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({ mountPoint: '/mnt/with space\\x', source: 'my\ttmp', superOptions: ['rw'] });
  });

  it('takes the layer from the GraphDriver of an inspect, and nothing from a driver without a merged dir', () => {
    expect(layer).toEqual({ dir: LAYER_DIR, mergedDir: `${LAYER_DIR}/merged`, upperDir: `${LAYER_DIR}/diff`, workDir: `${LAYER_DIR}/work` });
    expect(layerOf({ Data: { DeviceName: 'docker-254:0-1-abc' } })).toBeUndefined();
    expect(layerOf({ Data: null })).toBeUndefined();
    expect(layerOf(undefined)).toBeUndefined();
  });

  it("finds the layer's mounts in the host's, the container's and an unshared namespace's views", () => {
    expect(layerMounts(parseMountInfo(fixture('host-with-container-running.txt')), layer).map((m) => m.mountPoint)).toEqual([`${LAYER_DIR}/merged`]);
    expect(layerMounts(parseMountInfo(fixture('container-root.txt')), layer).map((m) => m.mountPoint)).toEqual(['/']);
    expect(layerMounts(parseMountInfo(fixture('unshared-namespace-inherited.txt')), layer).map((m) => m.mountId)).toEqual([103]);
    const other: ContainerLayer = { dir: `${LAYER_DIR}-init`, mergedDir: `${LAYER_DIR}-init/merged`, upperDir: `${LAYER_DIR}-init/diff`, workDir: `${LAYER_DIR}-init/work` };
    expect(layerMounts(parseMountInfo(fixture('host-with-container-running.txt')), other)).toEqual([]);
  });
});

describe('releasing a layer a removal needs', () => {
  it("kills the container's leftover, unmounts once per other namespace and in its own, and kills nothing else", () => {
    const plan = planRelease(
      CONTAINER_ID,
      layer,
      [
        view(5595, CONTAINER_NS, fixture('container-root.txt'), fixture('container-cgroup.txt')),
        view(3091, HOST_NS, fixture('host-with-container-running.txt'), '0::/\n', 'dockerd'),
        view(5964, UNSHARED_NS, fixture('unshared-namespace-inherited.txt')),
        view(5965, UNSHARED_NS, fixture('unshared-namespace-inherited.txt')),
      ],
      HOST_NS,
    );
    expect(plan).toEqual([
      { kind: 'kill', pid: 5595, comm: 'sleep', why: 'a process of container 400ef8d76320 left running' },
      { kind: 'unmount', pid: 3091, mountNamespace: HOST_NS, mountPoint: `${LAYER_DIR}/merged`, ownNamespace: true },
      { kind: 'unmount', pid: 5964, mountNamespace: UNSHARED_NS, mountPoint: `${LAYER_DIR}/merged`, ownNamespace: false },
    ]);
    expect(plan.map(describeRelease)).toEqual([
      'killed pid 5595 (sleep): a process of container 400ef8d76320 left running',
      `unmounted ${LAYER_DIR}/merged (umount -l)`,
      `unmounted ${LAYER_DIR}/merged in the mount namespace ${UNSHARED_NS} of pid 5964 (nsenter -t 5964 -m umount -l)`,
    ]);
  });

  it("kills a process that runs on the container's filesystem outside its cgroup, and does not unmount its root", () => {
    const plan = planRelease(CONTAINER_ID, layer, [view(7001, CONTAINER_NS, fixture('container-root.txt'), '0::/\n', 'mariadbd')], HOST_NS);
    expect(plan).toEqual([{ kind: 'kill', pid: 7001, comm: 'mariadbd', why: "runs on the container's filesystem" }]);
  });

  it('unmounts what is mounted under the merged dir before the merged dir itself', () => {
    const mountinfo = `${fixture('host-with-container-running.txt')}130 49 0:60 / ${LAYER_DIR}/merged/proc rw - proc proc rw\n`;
    const plan = planRelease(CONTAINER_ID, layer, [view(3091, HOST_NS, mountinfo)], HOST_NS);
    expect(plan.map((r) => r.kind === 'unmount' && r.mountPoint)).toEqual([`${LAYER_DIR}/merged/proc`, `${LAYER_DIR}/merged`]);
  });

  it('has nothing to do when no process holds the layer (the host shows no mount of it)', () => {
    const hostWithout = fixture('host-with-container-running.txt')
      .split('\n')
      .filter((l) => !l.includes(LAYER_DIR))
      .join('\n');
    expect(planRelease(CONTAINER_ID, layer, [view(1, HOST_NS, hostWithout, '0::/\n', 'init')], HOST_NS)).toEqual([]);
  });

  it('says what to do by hand in one line: free what still mounts the layer, else what the engine names', () => {
    expect(byHandAdvice(CONTAINER_ID, layer, true)).toBe(
      `\`grep -l 0d895535daf183542f6b604b8d88112dead07a7aeb3e9e4dead324034cb08d5d /proc/*/mountinfo\` names what still mounts its filesystem: \`nsenter -t PID -m umount -l ${LAYER_DIR}/merged\` or end that process, then \`oomlab clean\`; if it stays: stop dockerd, \`rm -rf /var/lib/docker/containers/${CONTAINER_ID}\`, start dockerd`,
    );
    expect(byHandAdvice(CONTAINER_ID, layer, false)).toBe(
      `free the path the engine names (a mount on it, an immutable file: \`lsattr\`) or restart dockerd, then \`oomlab clean\`; if it stays: stop dockerd, \`rm -rf /var/lib/docker/containers/${CONTAINER_ID}\`, start dockerd`,
    );
    expect(byHandAdvice(CONTAINER_ID, undefined, true)).toBe(byHandAdvice(CONTAINER_ID, layer, false));
  });
});
