// The pieces every generated scenario is written with: values from the user's files enter only through
// `literal()`, never spliced raw.
import type { Diagnosis } from './diagnose.ts';
import type { IncidentEvidence } from './evidence.ts';

export const MiB = 1024 * 1024;

/** A JavaScript literal of any data: JSON, with the two line separators JSON leaves bare escaped too. */
export function literal(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The opening every generated scenario shares, each value taken from the user's files quoted as data. */
export function scenarioOpening(name: string, incident: string, image: string): string[] {
  return ['export default defineScenario({', `  name: ${literal(name)},`, `  incident: ${literal(incident)},`, '  matrix: {', `    image: [${literal(image)}],`];
}

/** Text for a `//` comment: one line, no way out of the comment. */
export function commentText(text: string): string {
  return literal(text).slice(1, -1);
}

export interface ScenarioTextInput {
  name: string;
  evidence: IncidentEvidence;
  diagnosis: Diagnosis;
  /** `--server IMAGE`. */
  image?: string;
  /** When it was written, for the header. */
  writtenAt: Date;
  /** The inputs' names, for the header. */
  sources: readonly string[];
  /** scenarios/lib as the written file imports it (`./lib` from scenarios/). @default './lib' */
  scenariosLib?: string;
  /** When production died, as the user knows it (`--phase`); never guessed. */
  phase?: 'start-up' | 'under-load' | 'after-load';
  /**
   * A global OOM reproduced in a lab VM the size of production's machine (`--host lab…`): the server and its
   * neighbours get no container memory limit, so the kernel's global OOM killer picks the victim.
   */
  globalLab?: GlobalLab;
  /** `--host lab[:SHAPE][,memory=SIZE]` for an incident that is not a global OOM: the lab VM it runs in. */
  labHost?: string;
}

/** A global OOM's lab VM, as the scenario names it and the report compares it. */
export interface GlobalLab {
  host: string;
  memoryBytes: number;
  /** Where its memory came from (`--limit`, `kernel: 1535902 pages RAM`), and why it grew when it did. */
  source: string;
  /** Production's machine, where known: the VM's memory, unless it grew to leave the room. */
  machineBytes?: number;
  /** The room the VM leaves the server (`room=`, LabShape.roomMiB): what production's victim held at the kill. */
  roomBytes?: number;
}

/** The lab host the written scenario declares (`host(config).runtime`), so `oomlab run` alone boots the VM from-incident was told to use. */
export function labHostOf(input: Pick<ScenarioTextInput, 'globalLab' | 'labHost'>): string | undefined {
  return input.globalLab?.host ?? input.labHost;
}

/** The scenario's `host` entry naming its lab VM, the name quoted as data; none without a lab host. */
export function labHostLines(input: Pick<ScenarioTextInput, 'globalLab' | 'labHost'>): string[] {
  const host = labHostOf(input);
  if (host === undefined) return [];
  return ['  // The lab VM `from-incident --host` named: `oomlab run` boots it for this file without being told (it wins over --host).', `  host: () => ({ runtime: ${literal(host)} }),`];
}

export const roundDownMiB = (bytes: number, step: number) => Math.max(step, Math.floor(bytes / (step * MiB)) * step);
export const sizeText = (bytes: number) => `${Math.max(1, Math.round(bytes / MiB))}m`;
