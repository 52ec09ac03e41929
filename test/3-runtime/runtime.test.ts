import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as seam from '../../src/3-runtime/index.ts';
import { engineClients } from '../../src/3-runtime/docker/engine.ts';
import { dockerConnection, dockerRuntime } from '../../src/3-runtime/docker/runtime.ts';
import { cgroupDirOf } from '../../src/3-runtime/proc-cgroup.ts';
import { importsOf } from '../../tools/check-layers.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const CONTAINER = '400ef8d763201d712fb2d5ce660e4aa7e33d686ef820fe550069f93ea2f05ac8';

/** Every member of `Runtime`/`RuntimeConnection` the orchestrator calls, as it called Docker's functions before the switch. */
const SEAM_MEMBERS = ['connect', 'answers', 'watch', 'resolveImage', 'startInstance', 'watchRunEvents', 'removeRun', 'createSideBudget', 'nodeSettings', 'applyFault', 'clean', 'images'];
/** What src/8-run may still take from the runtime directly: the seam itself, and the shim (compiled on this host for any engine). */
const ALLOWED_DIRECT = ['dockerRuntime', 'buildNofileShim'];

/** Value (not type) names one file imports from src/3-runtime/index.ts. */
function runtimeValuesImported(source: string): string[] {
  if (!importsOf(source).some((s) => s.endsWith('3-runtime/index.ts'))) return [];
  const clause = /import\s*\{([^}]*)\}\s*from\s*'[./]*3-runtime\/index\.ts'/.exec(source)?.[1] ?? '';
  return clause
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name && !name.startsWith('type '));
}

describe('the Runtime seam', () => {
  it('is the only way src/8-run reaches the engine: it imports the seam and the shim, no Docker function', () => {
    const dir = new URL('../../src/8-run/', import.meta.url).pathname;
    const imported = readdirSync(dir)
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) => runtimeValuesImported(readFileSync(join(dir, file), 'utf8')));
    expect(imported.length).toBeGreaterThan(0);
    expect([...new Set(imported)].filter((name) => !ALLOWED_DIRECT.includes(name))).toEqual([]);
  });

  it('exports the seam, dockerRuntime, the lab host, the lab runtime and the shim only: no Docker function reaches the stages above', () => {
    expect(Object.keys(seam).sort()).toEqual(['ROUTED_ACTIONS', 'SHIM_CONTAINER_PATH', 'buildNofileShim', 'dockerRuntime', 'labHost', 'labRuntime', 'planNofile']);
  });

  it('docker satisfies it: the runtime and a connection have every member the seam names', () => {
    expect(Object.keys(dockerRuntime).sort()).toEqual(['answers', 'checkArchive', 'connect', 'name', 'nodeSettings', 'survey']);
    // No engine is needed: dockerode clients make no request until a method is called.
    const connection = dockerConnection(engineClients());
    const members = new Set(Object.keys(connection));
    for (const member of SEAM_MEMBERS) if (member !== 'connect') expect(members).toContain(member);
    expect([...members].sort()).toEqual([
      'answers',
      'applyFault',
      'clean',
      'createSideBudget',
      'images',
      'node',
      'nodeSettings',
      'removeRun',
      'resolveImage',
      'startInstance',
      'watch',
      'watchRunEvents',
      'where',
    ]);
    expect(Object.keys(connection.images).sort()).toEqual(['load', 'missingReason', 'recipeImages', 'recipeOf', 'serverImages', 'state']);
    expect(Object.keys(connection.node).sort()).toEqual(['kernelLog', 'readFile']);
    expect(Object.keys(connection.nodeSettings).sort()).toEqual(['acquireLease', 'restoreAbandoned', 'switchThp', 'thpUnswitchableReason']);
  });
});

describe('cgroupDirOf', () => {
  it("reads the memory and cpuacct controllers' lines of a container's /proc/<pid>/cgroup (cgroup v1, captured here)", () => {
    expect(cgroupDirOf(fixture('mountinfo/container-cgroup.txt'), 'memory')).toBe(`/sys/fs/cgroup/memory/docker/${CONTAINER}`);
    expect(cgroupDirOf(fixture('mountinfo/container-cgroup.txt'), 'cpuacct')).toBe(`/sys/fs/cgroup/cpuacct/docker/${CONTAINER}`);
    expect(cgroupDirOf(`4:memory:/oomlab-side-ab12cd-0-host-a/${CONTAINER}\n`, 'memory')).toBe(`/sys/fs/cgroup/memory/oomlab-side-ab12cd-0-host-a/${CONTAINER}`);
    expect(cgroupDirOf('3:cpu,cpuacct:/system.slice/docker-x.scope\n', 'cpuacct')).toBe('/sys/fs/cgroup/cpuacct/system.slice/docker-x.scope');
  });

  it("falls back to the unified 0:: line on cgroup v2, and takes no directory from a bare / (the reader's own root)", () => {
    const unifiedOnly = fixture('mountinfo/container-cgroup.txt')
      .split('\n')
      .filter((line) => line.startsWith('0::'))
      .join('\n');
    expect(cgroupDirOf(unifiedOnly, 'memory')).toBe(`/sys/fs/cgroup/docker/${CONTAINER}`);
    expect(cgroupDirOf(unifiedOnly, 'cpuacct')).toBe(`/sys/fs/cgroup/docker/${CONTAINER}`);
    expect(cgroupDirOf('0::/\n', 'memory')).toBeUndefined();
  });
});
