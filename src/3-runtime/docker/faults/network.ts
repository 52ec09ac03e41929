// tc netem on the instance's eth0, run from the host inside its network namespace (the image needs no tc).
// A kernel built without netem (some VM kernels) still drops: loss and partition fall back to an nftables
// rule on eth0's egress in the same namespace; a delay then cannot be emulated and says so.
import { execa } from 'execa';
import { FaultFailedError } from '../../../0-model/errors.ts';
import type { StepAction } from '../../../1-scenario/steps.ts';
import { instanceNamed, statusCodeOf, type AppliedFault, type FaultTarget } from './target.ts';

const DEVICE = 'eth0';
const TC_TIMEOUT_MS = 10_000;
/** What tc says when there is nothing to delete: no qdisc of ours, or the namespace's device is gone. */
const NO_NETEM = /Specified qdisc kind is unknown/;
/** The nftables table the fallback adds in the container's namespace; undo deletes it. */
export const NFT_TABLE = 'oomlab_chaos';
/** What tc says when there is nothing to delete: no qdisc of ours, or the namespace's device is gone. */
const NOTHING_TO_DELETE = /Cannot delete qdisc with handle of zero|No such file or directory|Cannot find device|Invalid handle|No such process/i;

type NetworkAction = Extract<StepAction, { action: 'network' }>;

/** The netem arguments: `delay 200ms 50ms loss 10%`; a partition is loss 100%. */
export function netemArgs(action: Pick<NetworkAction, 'delay' | 'jitter' | 'loss' | 'partition'>): string[] {
  const args: string[] = [];
  if (action.delay !== undefined) args.push('delay', `${action.delay}ms`, ...(action.jitter !== undefined ? [`${action.jitter}ms`] : []));
  const loss = action.partition ? 100 : action.loss;
  if (loss !== undefined) args.push('loss', `${loss}%`);
  return args;
}

/** The host pid of the container's first process, whose network namespace tc enters; undefined when it is not running. */
async function pidOf(target: FaultTarget, containerId: string): Promise<number | undefined> {
  try {
    const state = (await target.engine.api.getContainer(containerId).inspect()).State;
    return state.Running && state.Pid > 0 ? state.Pid : undefined;
  } catch (error) {
    if (statusCodeOf(error) === 404) return undefined;
    throw error;
  }
}

function tcIn(pid: number, args: string[], signal?: AbortSignal) {
  return execa('nsenter', ['-t', String(pid), '-n', 'tc', ...args], { timeout: TC_TIMEOUT_MS, reject: false, ...(signal ? { cancelSignal: signal } : {}) });
}

function nftIn(pid: number, args: string[], input?: string, signal?: AbortSignal) {
  return execa('nsenter', ['-t', String(pid), '-n', 'nft', ...args], { timeout: TC_TIMEOUT_MS, reject: false, ...(input ? { input } : {}), ...(signal ? { cancelSignal: signal } : {}) });
}

/** Drops `lossPercent` of what leaves eth0, as netem's loss does (numgen random: each packet on its own). */
export function nftLossRuleset(lossPercent: number): string {
  const rule = lossPercent >= 100 ? 'oifname "eth0" drop' : `oifname "eth0" numgen random mod 10000 < ${Math.round(lossPercent * 100)} drop`;
  return `table inet ${NFT_TABLE} {\n  chain egress {\n    type filter hook output priority 0; policy accept;\n    ${rule}\n  }\n}\n`;
}

async function removeNftTable(pid: number): Promise<boolean> {
  const result = await nftIn(pid, ['delete', 'table', 'inet', NFT_TABLE]);
  return result.exitCode === 0;
}

export async function network(action: NetworkAction, target: FaultTarget): Promise<AppliedFault> {
  const instance = instanceNamed(target, action.instance);
  const pid = await pidOf(target, instance.containerId);
  if (pid === undefined) throw new FaultFailedError(`network ${action.instance}: the container is not running, so it has no network namespace to shape`);
  const netem = netemArgs(action);
  const result = await tcIn(pid, ['qdisc', 'replace', 'dev', DEVICE, 'root', 'netem', ...netem], target.signal);
  if (result.exitCode !== 0 && NO_NETEM.test(result.stderr)) return dropWithNftables(action, target, instance.containerId, pid);
  if (result.exitCode !== 0) {
    const why = result.failed && result.exitCode === undefined ? result.shortMessage : (result.stderr || result.stdout).trim();
    throw new FaultFailedError(
      `network ${action.instance}: \`tc qdisc replace dev ${DEVICE} root netem ${netem.join(' ')}\` in its namespace failed: ${why} — needs root, nsenter and tc (iproute2) on the host`,
    );
  }
  return {
    detail: `netem ${netem.join(' ')} on ${DEVICE} of ${action.instance}${action.partition ? ' (partition)' : ''}`,
    undo: async () => {
      // A restarted container has a new pid (and a fresh namespace without the qdisc); gone is fine too.
      const now = await pidOf(target, instance.containerId);
      if (now === undefined) return;
      const removed = await tcIn(now, ['qdisc', 'del', 'dev', DEVICE, 'root']);
      if (removed.exitCode === 0) target.log(`undo: netem removed from ${DEVICE} of ${action.instance}`);
      else if (!NOTHING_TO_DELETE.test(removed.stderr)) throw new FaultFailedError(`undo network ${action.instance}: \`tc qdisc del dev ${DEVICE} root\` failed: ${removed.stderr.trim()}`);
    },
  };
}

async function dropWithNftables(action: NetworkAction, target: FaultTarget, containerId: string, pid: number): Promise<AppliedFault> {
  if (action.delay !== undefined) {
    throw new FaultFailedError(
      `network ${action.instance}: this kernel has no netem (CONFIG_NET_SCH_NETEM), so a delay of ${action.delay}ms cannot be emulated — loss and partition still work (dropped by nftables); run delays on a kernel with sch_netem`,
    );
  }
  const loss = action.partition ? 100 : (action.loss ?? 0);
  const added = await nftIn(pid, ['-f', '-'], nftLossRuleset(loss), target.signal);
  if (added.exitCode !== 0) {
    throw new FaultFailedError(
      `network ${action.instance}: this kernel has no netem, and the nftables drop rule failed too: ${(added.stderr || added.shortMessage || '').trim()} — needs nft and nf_tables on the host`,
    );
  }
  return {
    detail: `nftables drop ${loss}% of eth0's egress of ${action.instance}${action.partition ? ' (partition)' : ''} (no netem in this kernel)`,
    undo: async () => {
      const now = await pidOf(target, containerId);
      if (now !== undefined && (await removeNftTable(now))) target.log(`undo: nftables drop removed from ${action.instance}`);
    },
  };
}
