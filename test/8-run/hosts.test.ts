import { describe, expect, it } from 'vitest';
import { defineScenario } from 'oomlab';
import { planRun, type PlannedConfig } from '../../src/2-plan/index.ts';
import { dockerRuntime, type Runtime } from '../../src/3-runtime/index.ts';
import { OomlabError } from '../../src/0-model/errors.ts';
import { hostGroups, hostOverrideLine, runtimesNofileSoft } from '../../src/8-run/hosts.ts';
import type { HostFacts, LabHostFacts } from '../../src/0-model/host.ts';
import runtimeNofile from '../../scenarios/runtime-nofile.ts';

const named = (name: string) => ({ ...dockerRuntime, name }) as Runtime;
const runtimeOf = (host: string): Runtime => {
  if (host === 'lab:nope') throw new OomlabError('LAB_SHAPE_INVALID', 'unknown lab host `lab:nope`; use lab or lab:SHAPE');
  return named(host);
};
const ids = (configs: readonly PlannedConfig[]) => configs.map((c) => String(c.axes.runtime));

describe('hostGroups: one host (one lab VM) per distinct host(config).runtime, in turn', () => {
  it('puts runtime-nofile.ts on three VMs in the order of their first configuration; the two of today share one', () => {
    const groups = hostGroups(planRun(runtimeNofile), dockerRuntime, runtimeOf);
    expect(groups.map((g) => [g.host, ids(g.configs), g.fromScenario])).toEqual([
      ['lab:docker-2019', ['docker-2019'], true],
      ['lab:containerd-infinity', ['containerd-1.7'], true],
      ['lab:runtime-today', ['docker-25', 'containerd-2'], true],
    ]);
    expect(groups[2]!.runtime.name).toBe('lab:runtime-today');
  });

  it('leaves configurations without a runtime on the run’s --host, and says in one line when the scenario wins over it', () => {
    const scenario = defineScenario({
      name: 'mixed',
      incident: 'test',
      matrix: { where: ['here', 'lab'] },
      instances: () => ({ db: { image: 'img' } }),
      expect: () => ({ db: { outcome: 'survived' } }),
      host: (c) => (c.where === 'lab' ? { runtime: 'lab:nofile' } : {}),
    });
    const lab = named('lab');
    const groups = hostGroups(planRun(scenario), lab, runtimeOf);
    expect(groups.map((g) => [g.host, g.runtime === lab, g.fromScenario])).toEqual([
      ['lab', true, false],
      ['lab:nofile', false, true],
    ]);
    expect(hostOverrideLine(groups, 'lab')).toBe('--host lab does not apply to 1 configuration(s): the scenario puts them on lab:nofile');
    expect(hostOverrideLine(hostGroups(planRun(scenario), named('lab:nofile'), runtimeOf), 'lab:nofile')).toBeUndefined();
  });

  it('says nothing when no --host was given: the scenario’s host is where it runs (numa-imbalance.ts without --host)', () => {
    const scenario = defineScenario({
      name: 'own-host',
      incident: 'test',
      matrix: { n: [1] },
      instances: () => ({ db: { image: 'img' } }),
      host: () => ({ runtime: 'lab:numa2-uneven' }),
    });
    const groups = hostGroups(planRun(scenario), dockerRuntime, runtimeOf);
    expect(hostOverrideLine(groups, undefined)).toBeUndefined();
    expect(hostOverrideLine(groups, 'docker')).toBe('--host docker does not apply to 1 configuration(s): the scenario puts them on lab:numa2-uneven');
  });

  it('refuses an unknown shape before anything boots, naming the configuration, in one line', () => {
    const scenario = defineScenario({
      name: 'bad',
      incident: 'test',
      matrix: { n: [1] },
      instances: () => ({ db: { image: 'img' } }),
      host: () => ({ runtime: 'lab:nope' }),
    });
    expect(() => hostGroups(planRun(scenario), dockerRuntime, runtimeOf)).toThrow('n=1: host(config).runtime `lab:nope`: unknown lab host `lab:nope`; use lab or lab:SHAPE');
    expect(() => hostGroups(planRun(scenario), dockerRuntime)).toThrow(
      'n=1: host(config).runtime `lab:nope`: this command runs configurations on docker only; run the scenario with `oomlab run` for lab:nope',
    );
  });

  it('refuses a runtime that is not a host name when the scenario is planned', () => {
    const scenario = defineScenario({
      name: 'bad',
      incident: 'test',
      matrix: { n: [1] },
      instances: () => ({ db: { image: 'img' } }),
      host: () => ({ runtime: 'k3s' }),
    });
    expect(() => planRun(scenario)).toThrow('bad (n=1): `host.runtime`: expected docker, lab, lab:SHAPE or lab:SHAPE,memory=SIZE[,room=SIZE]');
    // Only a memory= then a room=, each in m or g, follow the shape: nothing else rides along in the host's name.
    for (const runtime of ['lab,memory=512m;reboot', 'lab,memory=', 'lab,cpus=2', 'lab:default,memory=2g,memory=3g', 'lab,room=1g,memory=2g', 'lab,room=1g,room=2g']) {
      expect(() => planRun({ ...scenario, host: () => ({ runtime }) })).toThrow('`host.runtime`: expected docker');
    }
  });

  it("takes a lab VM's memory in the scenario's host, as --host does: a global OOM's machine travels with the file", () => {
    const scenario = defineScenario({
      name: 'sized',
      incident: 'test',
      matrix: { n: [1] },
      instances: () => ({ db: { image: 'img' } }),
      host: () => ({ runtime: 'lab,memory=512m' }),
    });
    const [group] = hostGroups(planRun(scenario), dockerRuntime, runtimeOf);
    expect(group).toMatchObject({ host: 'lab,memory=512m', fromScenario: true });
  });
});

describe('runtimesNofileSoft: what a lab container with no rlimit of its own starts with', () => {
  const lab = (runtimeNofile: LabHostFacts['runtimeNofile']) => ({ nofileHardLimit: 1_073_741_816, lab: { runtimeNofile, nrOpen: 1_073_741_816 } }) as HostFacts;
  it('is the unit’s soft limit, fs.nr_open for infinity, and nothing off a lab or with Debian’s own units', () => {
    expect(runtimesNofileSoft(lab(1_048_576))).toBe(1_048_576);
    expect(runtimesNofileSoft(lab('1024:524288'))).toBe(1024);
    expect(runtimesNofileSoft(lab('infinity'))).toBe(1_073_741_816);
    expect(runtimesNofileSoft(lab(undefined))).toBeUndefined();
    expect(runtimesNofileSoft({ nofileHardLimit: 20_000 } as HostFacts)).toBeUndefined();
  });
});
