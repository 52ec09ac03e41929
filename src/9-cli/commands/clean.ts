// `oomlab clean`: what dead runs left behind.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { dockerRuntime, labHost, type Runtime } from '../../3-runtime/index.ts';

export const CLEAN_OPTIONS = { all: { type: 'boolean' } } satisfies ParseArgsOptionsConfig;

export async function commandClean(args: string[], runtime: Runtime = dockerRuntime): Promise<number> {
  const { values } = parseArgs({ args, options: CLEAN_OPTIONS });
  const all = values.all ?? false;
  for (const setting of await runtime.nodeSettings.restoreAbandoned({ all })) process.stdout.write(`restored ${setting.path} to ${setting.value}\n`);
  // Lab VMs whatever the runtime: they need no engine of this host, and a killed run's qemu holds two cores.
  const lab = await labHost.removeAbandoned({ all });
  for (const vm of lab.vms) process.stdout.write(`removed lab VM ${vm.vmId} (run ${vm.runId})${vm.killedPid ? `, killed qemu ${vm.killedPid}` : ''}\n`);
  for (const name of lab.guestBuilds) process.stdout.write(`removed lab guest build ${name} (its builder died)\n`);
  // An engine that is installed but stopped (a run's engine went away) is started, so its stopped containers can go;
  // clean never installs one.
  const connection = await runtime.connect({ install: false, onProgress: (text) => process.stderr.write(`· ${text}\n`) });
  const result = await connection.clean({ all });
  for (const container of result.removed) {
    process.stdout.write(`removed ${container.name} (run ${container.runId})${container.released.length > 0 ? ` after: ${container.released.join('; ')}` : ''}\n`);
  }
  for (const tag of result.images) process.stdout.write(`removed image ${tag} (an unchecked build whose builder died)\n`);
  const stuck = result.stuck.length > 0 ? `, ${result.stuck.length} stuck (the engine cannot remove them; see below)` : '';
  process.stdout.write(`${result.removed.length} container(s) removed${result.keptLive > 0 ? `, ${result.keptLive} kept (their run is still alive; --all removes them)` : ''}${stuck}\n`);
  for (const name of result.sideCgroups) process.stdout.write(`removed side cgroup ${name}\n`);
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
