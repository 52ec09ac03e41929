// The guest's files and kernel log, read through its agent (lab/guest/files/oomlab-agent.py) on a forwarded 127.0.0.1 port.
import { OomlabError } from '../../0-model/errors.ts';
import type { NodeAccess } from '../runtime.ts';

export interface AgentNode extends NodeAccess {
  /** The names in a directory of the node (`/sys/fs/cgroup/system.slice`); undefined when it does not exist. */
  list(path: string): Promise<string[] | undefined>;
  /** True when the agent answers now. */
  answers(): Promise<boolean>;
  /** Has the guest hold `mib` MiB in a ballast process until it stops (once per boot; see LabShape.roomMiB). */
  hold(mib: number): Promise<void>;
}

const REQUEST_TIMEOUT_MS = 10_000;
const HOLD_TIMEOUT_MS = 300_000;

/** Fetches one agent URL: the body on 200, undefined on 404, an error otherwise. */
async function get(url: string, signal?: AbortSignal): Promise<string | undefined> {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const response = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
  const body = await response.text();
  if (response.status === 404) return undefined;
  if (!response.ok) throw new OomlabError('LAB_BOOT_FAILED', `the lab agent answered ${response.status} to ${url}: ${body.trim().split('\n')[0]}`);
  return body;
}

export function agentNode(port: number): AgentNode {
  const base = `http://127.0.0.1:${port}`;
  const at = (endpoint: string, path: string) => `${base}/${endpoint}?path=${encodeURIComponent(path)}`;
  return {
    readFile: (path) => get(at('file', path)).catch(() => undefined),
    async kernelLog(signal) {
      const text = await get(`${base}/dmesg`, signal);
      if (text === undefined) throw new OomlabError('LAB_BOOT_FAILED', `the lab agent at ${base} has no /dmesg`);
      return text;
    },
    list: async (path) => (await get(at('list', path)).catch(() => undefined))?.split('\n').filter(Boolean),
    async hold(mib) {
      // Touching every page of gigabytes takes a while under TCG: the request waits for it, with more time than a read.
      const response = await fetch(`${base}/hold?mib=${mib}`, { method: 'POST', signal: AbortSignal.timeout(HOLD_TIMEOUT_MS) });
      const body = (await response.text()).trim().split('\n')[0];
      if (!response.ok) throw new OomlabError('LAB_BOOT_FAILED', `the lab agent could not hold a ballast of ${mib} MiB: ${body}`);
    },
    answers: () =>
      get(`${base}/ping`).then(
        (body) => body?.trim() === 'ok',
        () => false,
      ),
  };
}
