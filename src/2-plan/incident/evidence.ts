// Everything a user gave about one incident, read into facts that each remember where they came from.
// Files are sniffed by content, so a pasted mix (kernel lines, my.cnf, ulimit -a) needs no flags.
import { IncidentInputError } from '../../0-model/errors.ts';
import { type ContainerSpec, parseContainerYaml, parseDockerInspect, parseDockerSize, type RuntimeKind } from './container-spec.ts';
import { machineFromScore, mergeKills, type ProductionKill, parseOomReports, sameKill, serverKill } from './kernel-report.ts';
import { parseNofile } from './process-limits.ts';
import { parseMyCnf, parseVariablesTable } from './server-settings.ts';

/** A value and where it was read, e.g. `my.cnf line`, `kernel: memory: usage … limit …`. */
export interface Sourced<T> {
  value: T;
  source: string;
}

export interface IncidentEvidence {
  /** The kill the diagnosis is about (a MySQL/MariaDB server's, when there is one). */
  kill?: ProductionKill;
  /** Every kill in the kernel text. */
  kills: ProductionKill[];
  image?: Sourced<string>;
  limitBytes?: Sourced<number>;
  /** The limit the container was created with, when a spec says so (a lowered limit differs from the kernel's). */
  configuredLimitBytes?: Sourced<number>;
  nofile?: Sourced<{ soft: number; hard?: number }>;
  /** Server variables: my.cnf, SHOW GLOBAL VARIABLES, command-line flags. Names as SHOW VARIABLES spells them. */
  variables: Record<string, Sourced<string>>;
  /** SHOW GLOBAL STATUS counters (max_used_connections, …). */
  status: Record<string, Sourced<string>>;
  runtime?: Sourced<RuntimeKind>;
  /** The machine's memory as the kernel's OOM report counts it (`1535902 pages RAM`, 4 KiB pages): a global OOM's budget. */
  machineBytes?: Sourced<number>;
  /** What each input was read as, a line each. */
  inputs: string[];
}

export interface IncidentInput {
  /** A file's name as the user gave it (`-` for standard input). */
  name: string;
  text: string;
  /** Read as this kind whatever it looks like (`--mycnf`, `--limits`). */
  as?: 'mycnf' | 'limits';
}

export interface EvidenceOverrides {
  /** `--server IMAGE`. */
  image?: string;
  /** `--limit SIZE`. */
  limit?: string;
}

const KERNEL_MARKS = /killed process \d+|kill process \d+|oom-kill:constraint=|invoked\s+oom-killer|\[\s*pid\s*\]\s+uid\s+tgid|^.*\[\s*\d+\]\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+-?\d+\s+\S/im;
/** Kernel log lines without an OOM report: dmesg's `[  123.456789]`, or syslog's `… kernel:`. */
const KERNEL_LOG = /^\s*\[\s*\d+\.\d+\]|^\w{3}\s+\d+ [\d:]+ \S+ kernel:/m;
const STATUS_NAMES = new Set(['max_used_connections', 'threads_connected', 'threads_running', 'threads_created', 'connections', 'aborted_connects']);

function tryJson(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return undefined;
  try {
    return JSON.parse(trimmed);
  } catch {
    return undefined;
  }
}

function looksLikeYamlSpec(text: string): boolean {
  return (/^apiVersion:/m.test(text) && /^kind:/m.test(text)) || /^services:\s*$/m.test(text);
}

function looksLikeMyCnf(text: string): boolean {
  if (/^\s*\[(mysqld|server|mariadb|mariadbd|galera|mysqld-[\d.]+|mariadb-[\d.]+)\]\s*$/im.test(text)) return true;
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !/^\s*[#;]/.test(l));
  return lines.length > 0 && lines.every((l) => /^\s*[A-Za-z][A-Za-z0-9_-]*\s*(=\s*\S.*)?$/.test(l));
}

function looksLikeVariablesTable(text: string): boolean {
  return /^\|\s*Variable_name\s*\|\s*Value\s*\|/m.test(text) || /^\s*Variable_name:/m.test(text) || /^Variable_name\tValue$/m.test(text);
}

/** Reads every input; refuses with one line an input that holds nothing it can read. */
export function readEvidence(inputs: readonly IncidentInput[], overrides: EvidenceOverrides = {}): IncidentEvidence {
  const evidence: IncidentEvidence = { kills: [], variables: {}, status: {}, inputs: [] };
  const readFrom = new Map<ProductionKill, string>();
  const setVariables = (values: Record<string, string>, source: string) => {
    for (const [name, value] of Object.entries(values)) {
      const target = STATUS_NAMES.has(name) ? evidence.status : evidence.variables;
      target[name] = { value, source };
    }
  };
  for (const input of inputs) {
    const found: string[] = [];
    if (input.as === 'mycnf') {
      const values = looksLikeVariablesTable(input.text) ? parseVariablesTable(input.text) : parseMyCnf(input.text);
      if (Object.keys(values).length === 0) throw new IncidentInputError(`${input.name}: --mycnf names no server setting; give the [mysqld] section of my.cnf or the output of SHOW GLOBAL VARIABLES`);
      setVariables(values, input.name);
      evidence.inputs.push(`${input.name}: ${Object.keys(values).length} server settings`);
      continue;
    }
    if (input.as === 'limits') {
      const nofile = parseNofile(input.text);
      if (!nofile) throw new IncidentInputError(`${input.name}: --limits holds no open-files limit; give /proc/<pid>/limits of mysqld or the output of \`ulimit -a\``);
      evidence.nofile = { value: nofile, source: input.name };
      evidence.inputs.push(`${input.name}: nofile ${nofile.soft}${nofile.hard !== undefined ? `:${nofile.hard}` : ''}`);
      continue;
    }
    const json = tryJson(input.text);
    if (json !== undefined) {
      const specs = parseDockerInspect(json).filter((s) => s.image !== undefined || s.memoryLimitBytes !== undefined);
      if (specs.length === 0) throw new IncidentInputError(`${input.name}: JSON that is not \`docker inspect\` output; give the output of \`docker inspect <container>\``);
      takeSpec(evidence, pickSpec(specs), `${input.name} (docker inspect)`);
      evidence.inputs.push(`${input.name}: docker inspect`);
      continue;
    }
    if (looksLikeYamlSpec(input.text)) {
      let specs: ContainerSpec[];
      try {
        specs = parseContainerYaml(input.text);
      } catch (error) {
        throw new IncidentInputError(`${input.name}: cannot read the YAML (${(error as Error).message}); give the compose file or the Kubernetes manifest as written`);
      }
      if (specs.length === 0) throw new IncidentInputError(`${input.name}: YAML with no container; give a compose file or a Pod, Deployment or StatefulSet`);
      const spec = pickSpec(specs);
      takeSpec(evidence, spec, `${input.name} (${spec.runtime}${spec.name ? ` ${JSON.stringify(spec.name)}` : ''})`);
      evidence.inputs.push(`${input.name}: ${spec.runtime} spec`);
      continue;
    }
    if (KERNEL_MARKS.test(input.text)) {
      const kills = parseOomReports(input.text);
      // One kill pasted twice (a dmesg excerpt and a journal excerpt of it) is one kill: its copies are merged.
      const repeatOf: string[] = [];
      for (const kill of kills) {
        const index = evidence.kills.findIndex((k) => sameKill(k, kill));
        if (index === -1) {
          evidence.kills.push(kill);
          readFrom.set(kill, input.name);
          continue;
        }
        const earlier = evidence.kills[index]!;
        const merged = mergeKills(earlier, kill);
        evidence.kills[index] = merged;
        readFrom.set(merged, readFrom.get(earlier)!);
        repeatOf.push(readFrom.get(earlier)!);
      }
      const where = [...new Set(repeatOf)].join(', ');
      const repeats =
        repeatOf.length === 0
          ? ''
          : repeatOf.length === kills.length
            ? `, the same ${kills.length === 1 ? 'kill' : 'kills'} as in ${where} (counted once)`
            : `, ${repeatOf.length} of them the same as in ${where} (counted once)`;
      found.push(`${kills.length} OOM kill${kills.length === 1 ? '' : 's'}${repeats}`);
      const ramPages = /(\d+) pages RAM/.exec(input.text)?.[1];
      if (ramPages !== undefined) evidence.machineBytes ??= { value: Number(ramPages) * 4096, source: `kernel: ${ramPages} pages RAM` };
    }
    const nofile = parseNofile(input.text);
    if (nofile && !KERNEL_MARKS.test(input.text)) {
      evidence.nofile = { value: nofile, source: input.name };
      found.push(`nofile ${nofile.soft}`);
    }
    if (looksLikeVariablesTable(input.text)) {
      const values = parseVariablesTable(input.text);
      setVariables(values, input.name);
      found.push(`${Object.keys(values).length} variable${Object.keys(values).length === 1 ? '' : 's'}`);
    } else if (found.length === 0 && looksLikeMyCnf(input.text)) {
      const values = parseMyCnf(input.text);
      setVariables(values, input.name);
      found.push(`${Object.keys(values).length} server settings`);
    }
    if (found.length === 0 && KERNEL_LOG.test(input.text)) {
      throw new IncidentInputError(
        `${input.name}: a kernel log with no OOM kill in it; give the lines around the kill (dmesg -T | grep -B40 -A5 'Killed process', or journalctl -k from the day it died)`,
      );
    }
    if (found.length === 0) {
      throw new IncidentInputError(
        `${input.name}: nothing oomlab can read; give the kernel's OOM lines (dmesg), a my.cnf, SHOW GLOBAL VARIABLES, /proc/<pid>/limits, ulimit -a, docker inspect JSON, a compose file or a Kubernetes manifest`,
      );
    }
    evidence.inputs.push(`${input.name}: ${found.join(', ')}`);
  }
  const kill = serverKill(evidence.kills);
  if (kill) evidence.kill = kill;
  // Without `pages RAM`, an old kill line's score still tells the machine's size.
  const fromScore = kill && !evidence.machineBytes ? machineFromScore(kill) : undefined;
  if (fromScore) evidence.machineBytes = fromScore;
  if (kill?.memcgLimitKb !== undefined && kill.memcgLimitKb < 2 ** 50 / 1024) {
    evidence.limitBytes = { value: kill.memcgLimitKb * 1024, source: `kernel: memory: usage ${kill.memcgUsageKb}kB, limit ${kill.memcgLimitKb}kB` };
  } else if (evidence.configuredLimitBytes) {
    evidence.limitBytes = evidence.configuredLimitBytes;
  } else if (kill?.scope === 'global' && evidence.machineBytes && !fromScore) {
    // The kernel's own `pages RAM` is the machine a global OOM ran out of: a size it printed, not one estimated from a score.
    evidence.limitBytes = evidence.machineBytes;
  }
  if (overrides.limit !== undefined) {
    const bytes = parseDockerSize(overrides.limit);
    if (bytes === undefined || bytes <= 0) throw new IncidentInputError(`--limit ${JSON.stringify(overrides.limit)} is not a size; write it like 2g, 1536m or a number of bytes`);
    evidence.limitBytes = { value: bytes, source: '--limit' };
    evidence.configuredLimitBytes ??= { value: bytes, source: '--limit' };
  }
  if (overrides.image !== undefined) evidence.image = { value: overrides.image, source: '--server' };
  return evidence;
}

/** The MySQL/MariaDB container of a spec with several (a compose file with an app beside the database). */
function pickSpec(specs: readonly ContainerSpec[]): ContainerSpec {
  return specs.find((s) => /mysql|mariadb|percona/i.test(s.image ?? '')) ?? specs[0]!;
}

function takeSpec(evidence: IncidentEvidence, spec: ContainerSpec, source: string): void {
  if (spec.image) evidence.image ??= { value: spec.image, source };
  if (spec.memoryLimitBytes !== undefined) evidence.configuredLimitBytes = { value: spec.memoryLimitBytes, source };
  if (spec.nofileSoft !== undefined) evidence.nofile = { value: { soft: spec.nofileSoft, ...(spec.nofileHard !== undefined ? { hard: spec.nofileHard } : {}) }, source };
  for (const [name, value] of Object.entries(spec.flags)) evidence.variables[name] = { value, source: `${source} command line` };
  evidence.runtime = { value: spec.runtime, source };
}
