// `oomlab clean`: what dead runs left behind.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import {
  cleanLeftovers,
  connectEngine,
  leftoverSideCgroups,
  removeAbandonedBuilds,
  removeAbandonedGuestBuilds,
  removeAbandonedLabs,
  removeSideCgroup,
  restoreAbandonedHostSettings,
} from '../../3-runtime/index.ts';
import { onPath } from '../../4-observe/index.ts';

export const CLEAN_OPTIONS = { all: { type: 'boolean' } } satisfies ParseArgsOptionsConfig;

export async function commandClean(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: CLEAN_OPTIONS });
  for (const setting of await restoreAbandonedHostSettings({ all: values.all ?? false })) process.stdout.write(`restored ${setting.path} to ${setting.value}\n`);
  // Lab VMs first: they need no engine of this host, and a killed run's qemu holds two cores.
  for (const vm of await removeAbandonedLabs({ all: values.all ?? false })) {
    process.stdout.write(`removed lab VM ${vm.vmId} (run ${vm.runId})${vm.killedPid ? `, killed qemu ${vm.killedPid}` : ''}\n`);
  }
  for (const name of await removeAbandonedGuestBuilds()) process.stdout.write(`removed lab guest build ${name} (its builder died)\n`);
  // A dockerd that is installed but stopped (a run's engine went away) is started, so its stopped containers can go;
  // clean never installs one.
  const engine = await connectEngine({ autoStart: await onPath('dockerd'), onProgress: (text) => process.stderr.write(`· ${text}\n`) });
  const result = await cleanLeftovers(engine, { all: values.all ?? false });
  for (const container of result.removed) {
    process.stdout.write(`removed ${container.name} (run ${container.runId})${container.released.length > 0 ? ` after: ${container.released.join('; ')}` : ''}\n`);
  }
  for (const tag of await removeAbandonedBuilds(engine)) process.stdout.write(`removed image ${tag} (an unchecked build whose builder died)\n`);
  const stuck = result.stuck.length > 0 ? `, ${result.stuck.length} stuck (the engine cannot remove them; see below)` : '';
  process.stdout.write(`${result.removed.length} container(s) removed${result.keptLive > 0 ? `, ${result.keptLive} kept (their run is still alive; --all removes them)` : ''}${stuck}\n`);
  // A side cgroup can only be removed once empty, so live runs' budgets stay (rmdir refuses them).
  for (const name of await leftoverSideCgroups()) {
    await removeSideCgroup(name).then(
      () => process.stdout.write(`removed side cgroup ${name}\n`),
      () => {},
    );
  }
  // Exit 0 even so: what could be removed was, and one container the engine cannot remove must not fail every later clean.
  for (const container of result.stuck) {
    // docker ps shows a container whose removal failed as "Removal In Progress"; inspect says dead.
    const state = container.state === 'dead' || container.state === 'removing' ? `${container.state}, "Removal In Progress" in docker ps` : container.state;
    process.stderr.write(
      `oomlab: stuck: ${container.name} (${container.id.slice(0, 12)}, ${state}, run ${container.runId}): ${container.reason}${container.released.length > 0 ? ` [tried: ${container.released.join('; ')}]` : ''} — by hand: ${container.byHand}\n`,
    );
  }
  return 0;
}
