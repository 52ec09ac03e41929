// A STAND-IN FOR THE CONTAINER ENGINE, for unit tests of runScenario only: it starts no container, asks no
// engine and touches no kernel setting. It implements the seam (src/3-runtime/runtime.ts) as a real engine
// would be seen from above it, records every call in order (so teardown order can be asserted), and lets a
// test lose the engine, send an engine event, or hold an instance's readiness until the run is cancelled.
// What it says of an instance is made up: nothing here is evidence of how MySQL or Docker behave.
import { EngineLostError } from '../../src/0-model/errors.ts';
import type { InstanceSpec } from '../../src/1-scenario/index.ts';
import {
  planNofile,
  type AppliedFault,
  type CleanReport,
  type ImageStore,
  type InstanceEvent,
  type InstanceState,
  type NodeSettings,
  type ReadyResult,
  type Runtime,
  type RuntimeConnection,
  type SideBudget,
  type StartContext,
  type StartedInstance,
} from '../../src/3-runtime/index.ts';

/** How a fake instance behaves once started. */
export interface FakeBehaviour {
  /** Readiness after this long. @default 5 */
  readyAfterMs?: number;
  /** Never ready: waitReady returns only when the run's signal aborts. */
  hangUntilAborted?: boolean;
  /** Thrown by startInstance instead of starting. */
  startFails?: Error;
}

export interface FakeRuntimeOptions {
  /** Per instance start, in start order (0-based across the run): how that instance behaves. */
  behaviour?: (startIndex: number, spec: InstanceSpec) => FakeBehaviour;
  /** Called once an instance is started, with the runtime (to lose the engine, send events, cancel). */
  onStarted?: (instance: StartedInstance, startIndex: number, fake: FakeRuntime) => void;
}

/** Nothing listens on port 1 of the loopback: a server-variables read fails at once, as on a dead server. */
const NO_SERVER_PORT = 1;

export class FakeRuntime implements Runtime {
  readonly name = 'fake';
  /** Every seam call, in order: `start db`, `dispose db`, `removeRun`, ... */
  readonly calls: string[] = [];
  readonly started: StartedInstance[] = [];
  private engineUp = true;
  private onLost: ((error: EngineLostError) => void) | undefined;
  private onEvent: ((event: InstanceEvent) => void) | undefined;
  private starts = 0;

  constructor(private readonly options: FakeRuntimeOptions = {}) {}

  readonly nodeSettings: NodeSettings = {
    thpUnswitchableReason: async () => 'the fake engine switches nothing on the host',
    acquireLease: async (options) => ({ holder: { pid: process.pid, runId: options.runId, scenario: options.scenario, since: new Date(0).toISOString() }, release: async () => {} }),
    switchThp: async () => {
      throw new Error('the fake engine switches nothing on the host');
    },
    restoreAbandoned: async () => {
      this.calls.push('restoreAbandoned');
      return [];
    },
  };

  /** The engine stops answering: the watch fires as Docker's heartbeat would after its grace. */
  loseEngine(): void {
    this.engineUp = false;
    this.calls.push('engine lost');
    this.onLost?.(new EngineLostError(this.name, 'fake://engine'));
  }

  /** An engine event for an instance of the run (`kill` from outside, `oom`, `die`). */
  emit(event: Omit<InstanceEvent, 'timeMs'>): void {
    this.onEvent?.({ timeMs: Date.now(), ...event });
  }

  answers = async () => this.engineUp;
  survey = async () => ({ lines: [], answers: this.engineUp, images: this.images });
  checkArchive = async () => 0;

  private readonly images: ImageStore = {
    recipeOf: () => undefined,
    recipeImages: () => [],
    state: async () => ({ state: 'present' }),
    serverImages: async () => [],
    load: async () => ({ tags: [], untagged: [], bytes: 0, durationMs: 0 }),
    missingReason: (name) => `image ${name} is not on the fake engine`,
  };

  connect = async (): Promise<RuntimeConnection> => {
    this.calls.push('connect');
    const runtime = this;
    return {
      where: 'fake://engine',
      answers: this.answers,
      watch: (onLost) => {
        this.onLost = onLost;
        this.calls.push('watch');
        return { stop: () => void this.calls.push('watch stop') };
      },
      resolveImage: async (name) => {
        this.calls.push(`resolveImage ${name}`);
        return { name, available: true, source: 'local' };
      },
      startInstance: (spec, context) => runtime.startInstance(spec, context),
      watchRunEvents: async (_runId, onEvent) => {
        this.onEvent = onEvent;
        this.calls.push('events');
        return { stop: () => void this.calls.push('events stop') };
      },
      removeRun: async () => {
        this.calls.push('removeRun');
        return 0;
      },
      clean: async (): Promise<CleanReport> => ({ removed: [], stuck: [], keptLive: 0, images: [], sideCgroups: [] }),
      createSideBudget: async (_runId, configIndex, side, limitBytes): Promise<SideBudget> => {
        this.calls.push(`side ${side} (config ${configIndex})`);
        return { side, cgroupParent: `/fake-side-${side}`, limitBytes, locate: async () => ({ cgroupDirs: {} }), remove: async () => void this.calls.push(`side ${side} removed`) };
      },
      applyFault: async (action): Promise<AppliedFault> => {
        this.calls.push(`fault ${action.action}`);
        return { detail: `fake ${action.action}` };
      },
      images: this.images,
      node: { readFile: async () => undefined, kernelLog: async () => '' },
      nodeSettings: this.nodeSettings,
    };
  };

  private async startInstance(spec: InstanceSpec, context: StartContext): Promise<StartedInstance> {
    const index = this.starts++;
    const behaviour = this.options.behaviour?.(index, spec) ?? {};
    this.calls.push(`start ${spec.name} (config ${context.configIndex})`);
    if (behaviour.startFails) throw behaviour.startFails;
    let exitedFlag = false;
    let exit: (value: { exitCode: number }) => void = () => {};
    const exited = new Promise<{ exitCode: number }>((resolve) => (exit = resolve)).finally(() => (exitedFlag = true));
    const startedAt = Date.now();
    const containerId = `fake-${index}-${spec.name}`;
    const instance: StartedInstance = {
      spec,
      containerId,
      containerName: containerId,
      hostname: containerId,
      port: NO_SERVER_PORT,
      nofile: planNofile(spec.nofile, context.hostNofileHardLimit),
      startedAt,
      exited,
      hasExited: () => exitedFlag,
      endpoint: () => ({ host: '127.0.0.1', port: NO_SERVER_PORT, user: 'root', password: 'fake' }),
      waitReady: (_timeoutMs, signal) =>
        new Promise<ReadyResult>((resolve) => {
          const cancel = () => resolve({ ready: false, afterMs: Date.now() - startedAt, why: 'cancel' });
          if (signal.aborted) return cancel();
          signal.addEventListener('abort', cancel, { once: true });
          if (behaviour.hangUntilAborted) return;
          setTimeout(() => {
            signal.removeEventListener('abort', cancel);
            resolve({ ready: true, afterMs: Date.now() - startedAt });
          }, behaviour.readyAfterMs ?? 5);
        }),
      state: async (): Promise<InstanceState> => ({ status: exitedFlag ? 'exited' : 'running', running: !exitedFlag, oomKilled: false, exitCode: 0 }),
      logTail: async () => '',
      locate: async () => ({ cgroupDirs: {} }),
      [Symbol.asyncDispose]: async () => {
        this.calls.push(`dispose ${spec.name} (config ${context.configIndex})`);
        exit({ exitCode: 137 });
      },
    };
    this.started.push(instance);
    this.options.onStarted?.(instance, index, this);
    return instance;
  }
}
