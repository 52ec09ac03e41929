// A report with a chaos timeline: three configurations of a real scraping-burst run (test/fixtures) with
// step observations added where degraded-replica's steps would fall, including a failed, a timed-out and
// a skipped step. Synthetic on purpose: the steps' shape is the contract's, the samples are measured.
import { readFileSync } from 'node:fs';
import type { Observation, StepPhase } from '../../src/0-model/observation.ts';
import type { ConfigResult, RunReport } from '../../src/0-model/report.ts';

type StepObservation = Extract<Observation, { kind: 'step' }>;

/** [step, action, instance, seconds after every instance was ready, phases with their offsets in ms, detail]. */
const TIMELINE: [string, string, string | undefined, number, [StepPhase, number][], string][] = [
  [
    'thp-never',
    'thp',
    undefined,
    1,
    [
      ['start', 0],
      ['done', 12],
    ],
    'transparent_hugepage/enabled always → never',
  ],
  [
    'delay-a',
    'network',
    'a',
    4,
    [
      ['start', 0],
      ['done', 40],
      ['undo', 6_000],
    ],
    'tc netem delay 200ms on eth0 of a, for 6s',
  ],
  [
    'limit-a',
    'limit',
    'a',
    8,
    [
      ['start', 0],
      ['done', 25],
    ],
    'memory 1.5 GiB → 1 GiB (docker update)',
  ],
  [
    'neighbour',
    'neighbour',
    undefined,
    10,
    [
      ['start', 0],
      ['done', 900],
    ],
    'neighbour holding 512 MiB on side a',
  ],
  [
    'drop-caches',
    'drop-caches',
    undefined,
    12,
    [
      ['start', 0],
      ['done', 30],
    ],
    'echo 3 > /proc/sys/vm/drop_caches',
  ],
];

/** Undone at the end of the configuration, in reverse order of start. */
const UNDONE_AT_END: [string, string, string | undefined, string][] = [
  ['neighbour', 'neighbour', undefined, 'neighbour container removed'],
  ['limit-a', 'limit', 'a', 'memory back to 1.5 GiB'],
  ['thp-never', 'thp', undefined, 'transparent_hugepage/enabled never → always'],
];

const RUN_STEP = { step: 'threads-a', action: 'run', instance: 'a', at: 14 } as const;

function step(t: number, name: string, action: string, instance: string | undefined, phase: StepPhase, detail: string, output?: string): StepObservation {
  return { kind: 'step', t, step: name, action, ...(instance !== undefined ? { instance } : {}), phase, detail, ...(output !== undefined ? { output } : {}) };
}

function withSteps(config: ConfigResult, runStep: 'done' | 'failed' | 'timeout'): ConfigResult {
  const observations = config.observations;
  const zero = Math.max(...observations.filter((o) => o.kind === 'readiness').map((o) => o.t));
  const lastSample = Math.max(...observations.filter((o) => o.kind === 'sample').map((o) => o.t));
  const steps: StepObservation[] = [];
  for (const [name, action, instance, atS, phases, detail] of TIMELINE) {
    for (const [phase, offset] of phases) steps.push(step(zero + atS * 1000 + offset, name, action, instance, phase, detail));
  }
  const runAt = zero + RUN_STEP.at * 1000;
  steps.push(step(runAt, RUN_STEP.step, RUN_STEP.action, RUN_STEP.instance, 'start', 'SHOW GLOBAL STATUS in a'));
  if (runStep === 'done') steps.push(step(runAt + 80, RUN_STEP.step, RUN_STEP.action, RUN_STEP.instance, 'done', 'Threads_connected 412'));
  if (runStep === 'failed') {
    steps.push(
      step(
        runAt + 60,
        RUN_STEP.step,
        RUN_STEP.action,
        RUN_STEP.instance,
        'failed',
        'mysql exited with code 1',
        "ERROR 2013 (HY000): Lost connection to server at 'handshake: reading initial communication packet'",
      ),
    );
  }
  if (runStep === 'timeout') steps.push(step(runAt + 30_000, RUN_STEP.step, RUN_STEP.action, RUN_STEP.instance, 'timeout', 'no answer after 30s', '<no output> & "still waiting"'));
  steps.push(step(lastSample + 20, 'partition-b', 'network', 'b', 'skipped', 'its trigger never came: b.connections > 5000'));
  UNDONE_AT_END.forEach(([name, action, instance, detail], i) => steps.push(step(lastSample + 40 + i * 15, name, action, instance, 'undo', detail)));
  return { ...config, observations: [...observations, ...steps].sort((a, b) => a.t - b.t) };
}

export function chaosReport(): RunReport {
  const source = JSON.parse(readFileSync(new URL('../fixtures/report-scraping-burst.json', import.meta.url), 'utf8')) as RunReport;
  const [killed, , roomy, , , jemalloc] = source.configs;
  const configs = [withSteps(killed!, 'failed'), withSteps(roomy!, 'done'), withSteps(jemalloc!, 'timeout')];
  configs[2] = { ...configs[2]!, verdict: 'error', reason: 'step threads-a (run on a) timed out after 30s' };
  const count = (verdict: ConfigResult['verdict']) => configs.filter((c) => c.verdict === verdict).length;
  return { ...source, scenario: 'degraded-replica', configs, summary: { pass: count('pass'), fail: count('fail'), skipped: count('skipped'), error: count('error') } };
}
