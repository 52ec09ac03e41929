// `oomlab from-incident`: from what production left (the kernel's OOM lines, a my.cnf, limits, a spec)
// to the causes ranked with their figures, and a scenario that reproduces the kill and tries each fix.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { IncidentInputError, UsageError } from '../../0-model/errors.ts';
import { formatBytes } from '../../0-model/units.ts';
import {
  budgetText,
  type CauseId,
  type Diagnosis,
  diagnose,
  type GlobalLab,
  REPRODUCIBLE,
  type IncidentEvidence,
  type IncidentInput,
  readEvidence,
  scenarioBlocker,
  scenarioText,
} from '../../2-plan/index.ts';
import { labHost } from '../../3-runtime/index.ts';
import { commandRun, isLabHost, runtimeOfHost } from './run.ts';

const MiB = 1024 * 1024;
/**
 * The multi-gen LRU's thrashing prevention for a global OOM's lab VM (LabShape.minTtlMs): "N=1000 usually eliminates
 * intolerable lags due to thrashing" (Linux commit 1332a809d95a, mm: multi-gen LRU: thrashing prevention).
 */
const GLOBAL_OOM_MIN_TTL_MS = 1000;
const PHASES = ['start-up', 'under-load', 'after-load'] as const;
/** The shipped scenario of each cause whose generated scenario needs more than was given. */
const FAMILY: Partial<Record<CauseId, string>> = {
  neighbours: 'scenarios/neighbour-oom.ts',
  'limit-lowered': 'scenarios/limit-lowered.ts',
};
type Phase = (typeof PHASES)[number];

/**
 * The room a global kill's lab VM leaves the server: what production's victim held when the machine ran out,
 * the rest of the machine having held the remainder. None for neighbours (the scenario's neighbours are that
 * rest) or when the kill line gives no anon-rss.
 */
function roomOf(evidence: IncidentEvidence, lead: CauseId | undefined): number | undefined {
  const kill = evidence.kill;
  if (lead === 'neighbours' || kill?.anonRssKb === undefined) return undefined;
  return Math.round((kill.anonRssKb + (kill.fileRssKb ?? 0) + (kill.shmemRssKb ?? 0)) / 1024);
}

/**
 * The `--host` a run of this incident takes. A global OOM in a lab runs in a VM of production's machine size: the
 * shape's memory set from `memory=` when given, else `--limit` (the machine's memory), else the kernel's `pages RAM`,
 * else an old kill line's score. Unless the cause is neighbours, the VM also leaves the server production's room
 * (`room=`): production's machine held other things beside the server, the guest holds a ballast for them, and the
 * VM grows where its own system leaves less than that room.
 */
export function incidentHost(host: string | undefined, evidence: IncidentEvidence, lead?: CauseId): { host?: string; globalLab?: GlobalLab } {
  if (host === undefined) return {};
  runtimeOfHost(host);
  if (!isLabHost(host) || evidence.kill?.scope !== 'global') return { host };
  const { shape } = labHost.shapeOf(host);
  // The host as a scenario names it: the shape, then memory=, then room= (the one order host.runtime takes), the user's own text kept.
  const [base = host, ...options] = host.split(',');
  const given = (key: string) => options.find((option) => option.startsWith(`${key}=`));
  const room = shape.roomMiB ?? roomOf(evidence, lead);
  const roomPart = given('room') !== undefined ? `,${given('room')}` : room !== undefined ? `,room=${room}m` : '';
  const roomFacts = room !== undefined ? { roomBytes: room * MiB } : {};
  // A global OOM needs the kernel to kill, not to reclaim for minutes with the guest's engine silent (TCG).
  const ttlPart = given('min_ttl_ms') !== undefined ? `,${given('min_ttl_ms')}` : `,min_ttl_ms=${GLOBAL_OOM_MIN_TTL_MS}`;
  if (given('memory') !== undefined) {
    const named = { host: `${base},${given('memory')}${roomPart}${ttlPart}`, memoryBytes: shape.memoryMiB * MiB, source: `--host ${host}` };
    return { host: named.host, globalLab: { ...named, machineBytes: named.memoryBytes, ...roomFacts } };
  }
  const machine = evidence.limitBytes ?? evidence.machineBytes;
  const named = base.includes(':') ? base : `${base}:default`;
  if (!machine && room === undefined) {
    throw new UsageError(`production's OOM was global but its machine's memory is unknown: give --limit SIZE (the machine's memory) or --host ${named},memory=SIZE — e.g. --limit 2g for a t3.small`);
  }
  const machineMiB = machine ? Math.round(machine.value / MiB) : undefined;
  // The guest's own engine needs 512 MiB: without a room, a smaller machine cannot be given to the server whole, and a bigger VM is not production's.
  if (room === undefined && machineMiB !== undefined && machineMiB < labHost.minMemoryMiB) {
    throw new UsageError(
      `production's machine had about ${machineMiB} MiB (${machine!.source}), below the ${labHost.minMemoryMiB} MiB a lab VM needs for its own engine: run without --host (a container limit of ${machineMiB}m stands in for the machine), or give --host ${named},memory=${labHost.minMemoryMiB}m to accept a larger machine`,
    );
  }
  const needed = room !== undefined ? labHost.memoryForRoom(room) : 0;
  const memoryMiB = Math.max(machineMiB ?? 0, needed);
  const source =
    machineMiB === undefined
      ? `production's machine unknown: the least VM that leaves the server production's room of ${room} MiB`
      : memoryMiB > machineMiB
        ? `${machine!.source}; grown from ${machineMiB} MiB, as the guest's own system leaves less than production's room of ${room} MiB there`
        : machine!.source;
  const withMemory = `${base},memory=${memoryMiB}m${roomPart}${ttlPart}`;
  const sized = labHost.shapeOf(withMemory).shape;
  return {
    host: withMemory,
    globalLab: { host: withMemory, memoryBytes: sized.memoryMiB * MiB, source, ...(machineMiB !== undefined ? { machineBytes: machineMiB * MiB } : {}), ...roomFacts },
  };
}

async function readInput(path: string, as?: IncidentInput['as']): Promise<IncidentInput> {
  try {
    const text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
    return { name: path === '-' ? 'standard input' : path, text, ...(as ? { as } : {}) };
  } catch (error) {
    throw new IncidentInputError(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give a readable file, or - for standard input`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A free `scenarios/<name>.ts`: an earlier incident's file is never overwritten. A name the user gave with
 * `--name` is theirs: taken, it is refused rather than silently numbered (its reports would go elsewhere).
 */
function freePath(name: string, given: boolean): { path: string; name: string } {
  if (given && existsSync(join('scenarios', `${name}.ts`))) {
    const path = join('scenarios', `${name}.ts`);
    throw new UsageError(`--name ${name}: ${path} exists already; run it as it is (./oomlab run ${path}), remove it to write it again, or give another --name`);
  }
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? name : `${name}-${n}`;
    const path = join('scenarios', `${candidate}.ts`);
    if (!existsSync(path)) return { path, name: candidate };
  }
}

function scenarioName(evidence: IncidentEvidence, diagnosis: Diagnosis): string {
  const process =
    (evidence.kill?.process ?? 'mysqld')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'mysqld';
  return `incident-${process}-${diagnosis.causes[0]!.id}`;
}

function diagnosisText(evidence: IncidentEvidence, diagnosis: Diagnosis): string {
  const lines: string[] = [];
  const kill = evidence.kill;
  const f = diagnosis.figures;
  lines.push(
    `${kill ? `${kill.process} OOM-killed (${kill.scope}${kill.constraint ? `, ${kill.constraint}` : ''})${kill.anonRssKb !== undefined ? `, anon-rss ${formatBytes(kill.anonRssKb * 1024)}` : ''}` : 'No OOM kill found'}${f.limitBytes !== undefined ? ` ${budgetText(kill?.scope, f.limitBytes, formatBytes)}` : ''}`,
  );
  lines.push(`read: ${evidence.inputs.join('; ')}`, '');
  // A cause that accounts for nothing is no candidate: listed apart with why, so the ranking is only of candidates.
  const ranked = diagnosis.causes.filter((cause) => cause.score > 0 || cause.id === 'insufficient-evidence');
  const ruledOut = diagnosis.causes.filter((cause) => !ranked.includes(cause));
  ranked.forEach((cause, index) => {
    lines.push(`${index + 1}. ${cause.id}  ${cause.score.toFixed(2)}  ${cause.title}`);
    for (const line of cause.for) lines.push(`     + ${line}`);
    for (const line of cause.against) lines.push(`     - ${line}`);
  });
  if (ruledOut.length > 0) {
    lines.push('', 'weighed and ruled out (0.00):', ...ruledOut.map((cause) => `  - ${cause.id}: ${cause.against[0] ?? cause.title}`));
  }
  if (diagnosis.unknown.length > 0) lines.push('', 'unknown:', ...diagnosis.unknown.map((u) => `  - ${u}`));
  if (diagnosis.collect.length > 0) lines.push('', 'to settle it, collect:', ...diagnosis.collect.map((c) => `  - ${c}`));
  return lines.join('\n');
}

/** The project's own formatter over the generated text, so the scenario passes `npm run lint` like a hand-written one. */
async function formatted(text: string, path: string): Promise<string> {
  const root = join(import.meta.dirname, '..', '..', '..');
  const biome = join(root, 'node_modules', '.bin', 'biome');
  if (!existsSync(biome)) return text;
  // From the project's root, as a file of its scenarios/, so its biome.json applies wherever the user stands.
  const result = await execa(biome, ['format', `--stdin-file-path=scenarios/${basename(path)}`], { input: text, reject: false, timeout: 20_000, cwd: root });
  return result.exitCode === 0 && result.stdout.trim() !== '' ? `${result.stdout.trimEnd()}\n` : text;
}

export async function commandFromIncident(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      mycnf: { type: 'string', multiple: true },
      limits: { type: 'string' },
      server: { type: 'string' },
      limit: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      phase: { type: 'string' },
      run: { type: 'boolean' },
      host: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (values.phase !== undefined && !PHASES.includes(values.phase as Phase)) {
    throw new UsageError(`--phase takes ${PHASES.join(', ')}, got \`${values.phase}\``);
  }
  if (values.name !== undefined && !/^[a-z][a-z0-9-]*$/.test(values.name)) {
    throw new UsageError(`--name takes lowercase letters, digits and dashes, got ${JSON.stringify(values.name)}`);
  }
  const files = positionals.length > 0 ? positionals : process.stdin.isTTY ? [] : ['-'];
  const inputs = await Promise.all([
    ...files.map((path) => readInput(path)),
    ...(values.mycnf ?? []).map((path) => readInput(path, 'mycnf')),
    ...(values.limits ? [readInput(values.limits, 'limits')] : []),
  ]);
  // A pipe with nothing in it is no input at all: say what to give, not that it cannot be read.
  const implicitStdin = positionals.length === 0 && files.length === 1;
  if (implicitStdin && inputs[0]?.text.trim() === '') inputs.shift();
  if (inputs.length === 0) {
    throw new UsageError(
      'from-incident needs what production left: the kernel\'s OOM lines (a file, or pasted on standard input), e.g. `dmesg | grep -B40 -A5 "Killed process" > oom.txt; oomlab from-incident oom.txt --mycnf my.cnf`',
    );
  }
  const evidence = readEvidence(inputs, { ...(values.server ? { image: values.server } : {}), ...(values.limit ? { limit: values.limit } : {}) });
  const diagnosis = diagnose(evidence);
  const lead = diagnosis.causes[0]!;
  const { host, globalLab } = incidentHost(values.host, evidence, lead.id);
  // A lab host is written into the scenario (host(config).runtime): running it needs no --host.
  const runHost = host !== undefined && !isLabHost(host) ? host : undefined;

  let scenarioPath: string | undefined;
  const blocker = scenarioBlocker(evidence, diagnosis);
  if (REPRODUCIBLE.has(lead.id) && !blocker) {
    const wanted = values.name ?? scenarioName(evidence, diagnosis);
    const root = resolve(import.meta.dirname, '..', '..', '..');
    if (values.out !== undefined && relative(root, resolve(values.out)).startsWith('..')) {
      throw new UsageError(`--out ${values.out} is outside ${root}: a scenario imports 'oomlab', which resolves only inside the project; give a path under scenarios/`);
    }
    const target = values.out
      ? {
          path: values.out,
          name:
            values.name ??
            basename(values.out)
              .replace(/\.ts$/, '')
              .toLowerCase()
              .replace(/[^a-z0-9-]+/g, '-'),
        }
      : freePath(wanted, values.name !== undefined);
    if (!/^[a-z]/.test(target.name)) target.name = `incident-${target.name}`;
    if (!values.out && target.name !== wanted) {
      process.stderr.write(`scenarios/${wanted}.ts exists: wrote ${target.path} instead (scenario ${target.name}; its reports go to reports/<time>-${target.name}/)\n`);
    }
    // The written file imports the project's scenarios/lib by a path relative to where it lands.
    const lib = relative(dirname(resolve(target.path)), join(root, 'scenarios', 'lib'))
      .split(sep)
      .join('/');
    const text = scenarioText({
      name: target.name,
      scenariosLib: lib.startsWith('.') ? lib : `./${lib}`,
      evidence,
      diagnosis,
      ...(values.server ? { image: values.server } : {}),
      writtenAt: new Date(),
      sources: inputs.map((i) => i.name),
      ...(values.phase ? { phase: values.phase as Phase } : {}),
      ...(globalLab ? { globalLab } : {}),
      ...(!globalLab && host !== undefined && isLabHost(host) ? { labHost: host } : {}),
    });
    // Written whole or not at all: a temporary file renamed into place.
    await mkdir(dirname(target.path), { recursive: true });
    const temporary = `${target.path}.${process.pid}.tmp`;
    await writeFile(temporary, await formatted(text, target.path));
    await rename(temporary, target.path);
    scenarioPath = target.path;
  }

  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({
        causes: diagnosis.causes.map(({ id, score, for: forIt, against }) => ({ id, score, for: forIt, against })),
        unknown: diagnosis.unknown,
        collect: diagnosis.collect,
        scenario: scenarioPath ?? null,
      })}\n`,
    );
  } else {
    process.stdout.write(`${diagnosisText(evidence, diagnosis)}\n\n`);
    if (scenarioPath) {
      const shown = relative(process.cwd(), scenarioPath) || scenarioPath;
      process.stdout.write(`scenario: ${shown} (production and each candidate fix)\nrun it:   ./oomlab run ${shown}${runHost ? ` --host ${runHost}` : ''}\n`);
      if (globalLab)
        process.stdout.write(
          `lab:      a VM of ${formatBytes(globalLab.memoryBytes)} (${globalLab.machineBytes === globalLab.memoryBytes ? "production's machine, " : ''}${globalLab.source}), named in the scenario (${globalLab.host}); the server has no container limit, so a kill is the kernel's global OOM${
            globalLab.roomBytes !== undefined ? `; a ballast leaves it ${formatBytes(globalLab.roomBytes)}, what production's server held when its machine ran out` : ''
          }\n`,
        );
      else if (host !== undefined && isLabHost(host)) process.stdout.write(`lab:      the lab VM ${host}, named in the scenario\n`);
    } else if (lead.id === 'insufficient-evidence') {
      process.stdout.write('no scenario written: no cause accounts for the kill yet; collect what is listed above and run from-incident again\n');
    } else {
      process.stdout.write(`no scenario written: ${blocker ?? `${lead.id} has no scenario of its own yet`}; ${FAMILY[lead.id] ?? 'scenarios/'} reproduces its shape\n`);
    }
  }
  if (values.run && scenarioPath) return commandRun([scenarioPath, ...(runHost ? ['--host', runHost] : [])]);
  return 0;
}
