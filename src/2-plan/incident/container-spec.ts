// What a container runtime was told: `docker inspect` JSON, a compose file, or a Kubernetes Pod,
// Deployment or StatefulSet. Only the facts an OOM diagnosis needs are read; values stay data.
import { parseAllDocuments } from 'yaml';
import { parseServerFlags } from './server-settings.ts';

export type RuntimeKind = 'docker' | 'compose' | 'kubernetes';

export interface ContainerSpec {
  runtime: RuntimeKind;
  /** The container or service the facts are from. */
  name?: string;
  image?: string;
  memoryLimitBytes?: number;
  nofileSoft?: number;
  nofileHard?: number;
  /** `--name=value` server flags from the command or args. */
  flags: Record<string, string>;
  /** `State.OOMKilled` of docker inspect. */
  oomKilled?: boolean;
  /** What was read, one line each, for the diagnosis's sources. */
  notes: string[];
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? value.split(/\s+/) : []);

const K8S_UNITS: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/** A Kubernetes quantity (`4G` is 4 × 10⁹ bytes, `4Gi` is 4 × 2³⁰); undefined when it is not one. */
export function parseKubernetesQuantity(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)(?:e(\d+))?(k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(value.trim());
  if (!match) return undefined;
  const exponent = match[2] ? 10 ** Number(match[2]) : 1;
  return Math.round(Number(match[1]) * exponent * K8S_UNITS[match[3] ?? '']!);
}

/** A Docker size (`2g`, `512m`, `1.5gb`: binary units, as the engine reads them). */
export function parseDockerSize(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(value.trim());
  if (!match) return undefined;
  const power = { '': 0, k: 1, m: 2, g: 3, t: 4 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(match[1]) * 1024 ** power);
}

/** `docker inspect` output: an array of containers, or one. */
export function parseDockerInspect(value: unknown): ContainerSpec[] {
  const containers = Array.isArray(value) ? value : [value];
  return containers.filter(isObject).map((c) => {
    const host = isObject(c.HostConfig) ? c.HostConfig : {};
    const config = isObject(c.Config) ? c.Config : {};
    const state = isObject(c.State) ? c.State : {};
    const nofile = (Array.isArray(host.Ulimits) ? host.Ulimits : []).filter(isObject).find((u) => u.Name === 'nofile');
    const memory = typeof host.Memory === 'number' && host.Memory > 0 ? host.Memory : undefined;
    return {
      runtime: 'docker' as const,
      ...(typeof c.Name === 'string' ? { name: c.Name.replace(/^\//, '') } : {}),
      ...(typeof config.Image === 'string' ? { image: config.Image } : {}),
      ...(memory !== undefined ? { memoryLimitBytes: memory } : {}),
      ...(nofile && typeof nofile.Soft === 'number' ? { nofileSoft: nofile.Soft } : {}),
      ...(nofile && typeof nofile.Hard === 'number' ? { nofileHard: nofile.Hard } : {}),
      flags: parseServerFlags([...strings(config.Entrypoint), ...strings(config.Cmd)]),
      ...(typeof state.OOMKilled === 'boolean' ? { oomKilled: state.OOMKilled } : {}),
      notes: [
        memory === undefined ? 'HostConfig.Memory 0: no memory limit' : `HostConfig.Memory ${memory}`,
        nofile ? `HostConfig.Ulimits nofile ${String(nofile.Soft)}:${String(nofile.Hard)}` : 'no nofile ulimit: the engine default',
      ],
    };
  });
}

function composeServices(doc: Json): ContainerSpec[] {
  const services = isObject(doc.services) ? doc.services : {};
  return Object.entries(services)
    .filter((entry): entry is [string, Json] => isObject(entry[1]))
    .map(([name, s]) => {
      const deploy = isObject(s.deploy) && isObject(s.deploy.resources) && isObject(s.deploy.resources.limits) ? s.deploy.resources.limits : {};
      const memory = parseDockerSize(deploy.memory ?? s.mem_limit);
      const ulimits = isObject(s.ulimits) ? s.ulimits.nofile : undefined;
      const soft = typeof ulimits === 'number' ? ulimits : isObject(ulimits) && typeof ulimits.soft === 'number' ? ulimits.soft : undefined;
      const hard = typeof ulimits === 'number' ? ulimits : isObject(ulimits) && typeof ulimits.hard === 'number' ? ulimits.hard : undefined;
      return {
        runtime: 'compose' as const,
        name,
        ...(typeof s.image === 'string' ? { image: s.image } : {}),
        ...(memory !== undefined ? { memoryLimitBytes: memory } : {}),
        ...(soft !== undefined ? { nofileSoft: soft } : {}),
        ...(hard !== undefined ? { nofileHard: hard } : {}),
        flags: parseServerFlags([...strings(s.entrypoint), ...strings(s.command)]),
        notes: [`compose service ${JSON.stringify(name)}`],
      };
    });
}

function podContainers(doc: Json): ContainerSpec[] {
  const spec = isObject(doc.spec) ? doc.spec : {};
  // A Pod has spec.containers; a Deployment or StatefulSet nests the Pod in spec.template.spec.
  const podSpec = isObject(spec.template) && isObject(spec.template.spec) ? spec.template.spec : spec;
  const containers = Array.isArray(podSpec.containers) ? podSpec.containers.filter(isObject) : [];
  return containers.map((c) => {
    const resources = isObject(c.resources) ? c.resources : {};
    const limits = isObject(resources.limits) ? resources.limits : {};
    const memory = parseKubernetesQuantity(limits.memory);
    return {
      runtime: 'kubernetes' as const,
      ...(typeof c.name === 'string' ? { name: c.name } : {}),
      ...(typeof c.image === 'string' ? { image: c.image } : {}),
      ...(memory !== undefined ? { memoryLimitBytes: memory } : {}),
      flags: parseServerFlags([...strings(c.command), ...strings(c.args)]),
      notes: [`${String(doc.kind)} container ${JSON.stringify(String(c.name ?? ''))}: resources.limits.memory ${JSON.stringify(limits.memory ?? null)}`],
    };
  });
}

/** Compose services or Kubernetes containers of a YAML file (several documents allowed). */
export function parseContainerYaml(text: string): ContainerSpec[] {
  const specs: ContainerSpec[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(document.errors[0]!.message.split('\n')[0]);
    const doc: unknown = document.toJS();
    if (!isObject(doc)) continue;
    if (typeof doc.kind === 'string' && typeof doc.apiVersion === 'string') specs.push(...podContainers(doc));
    else if (isObject(doc.services)) specs.push(...composeServices(doc));
  }
  return specs;
}
