// Where the memory model says the outcome changes along the bisected axis: the same search as the real
// runs, over the model's prediction, which costs microseconds a value. Shown beside the boundary the runs find.
import type { Scenario } from '../1-scenario/index.ts';
import type { Outcome } from '../0-model/config.ts';
import type { ModelBoundary, ModelCrossing, ModelPoint } from '../0-model/bisect-report.ts';
import { cannotStart, startUpBytes } from './memory-model.ts';
import { planRun, predictMemory, type PlannedConfig } from './index.ts';
import { axisLabel, type BisectRequest } from './bisect-input.ts';
import { searchBoundary, type SearchGrid } from './bisect-search.ts';

const MIB = 1024 * 1024;
/** How far past HI the model looks for a crossing the range does not hold. */
const WIDEN_FACTOR = 1024;

export type { ModelBoundary, ModelCrossing, ModelPoint };

type Host = { defaultNofile: number; cpus: number };

function plan(scenario: Scenario, request: BisectRequest, value: number): PlannedConfig {
  const [config] = planRun(scenario, { set: [`${request.axis}=${axisLabel(request.kind, value)}`], only: request.only });
  return config!;
}

/** The model's prediction for one value: the instance it kills first decides, as a run's first unexpected instance does. */
export function modelPoint(scenario: Scenario, request: BisectRequest, value: number, host: Host): ModelPoint & { fits: boolean } {
  const config = plan(scenario, request, value);
  predictMemory([config], host);
  const predictions = Object.values(config.predictions ?? {});
  const judged = predictions.map((p) => ({ p, outcome: (cannotStart(p) ? 'oom-killed-at-startup' : p.load?.fits === false ? 'oom-killed-under-load' : 'survived') as Outcome }));
  const decisive = judged.find((j) => j.outcome !== 'survived') ?? judged[0];
  if (!decisive) throw new Error(`no server instance the memory model knows in ${config.id}`);
  const { p, outcome } = decisive;
  return {
    value,
    outcome,
    worstCaseBytes: p.predictedPeakBytes,
    startUpBytes: startUpBytes(p),
    ...(p.load ? { loadPeakBytes: p.load.peakBytes } : {}),
    ...(p.limitBytes !== undefined ? { limitBytes: p.limitBytes } : {}),
    fits: predictions.every((q) => q.fits !== false),
  };
}

async function crossing(grid: SearchGrid, at: (value: number) => ModelPoint & { fits: boolean }, of: 'outcome' | 'fits', outsideRange: boolean): Promise<ModelCrossing | undefined> {
  const points = new Map<number, ModelPoint>();
  const found = await searchBoundary({
    grid,
    repeat: 0,
    probe: async (value) => {
      const point = at(value);
      const { fits, ...rest } = point;
      points.set(value, rest);
      return { outcome: of === 'fits' ? String(fits) : point.outcome, result: undefined };
    },
  });
  if (!found.boundary) return undefined;
  return { last: points.get(found.boundary.last.value)!, first: points.get(found.boundary.first.value)!, outsideRange };
}

/** The crossing in LO..HI, else below LO (down to 1 step) or above HI (up to ×1024), else none. */
async function crossingNear(request: BisectRequest, at: (value: number) => ModelPoint & { fits: boolean }, of: 'outcome' | 'fits'): Promise<ModelCrossing | undefined> {
  const step = request.kind === 'size' ? MIB : 1;
  const { lo, hi } = request.grid;
  const inRange = await crossing({ lo, hi, step }, at, of, false);
  if (inRange) return inRange;
  if (lo > step) {
    const below = await crossing({ lo: step, hi: lo, step }, at, of, true).catch(() => undefined);
    if (below) return below;
  }
  return crossing({ lo: hi, hi: hi * WIDEN_FACTOR, step }, at, of, true).catch(() => undefined);
}

/** The model's boundary for the configuration along the axis; `unavailable` when the model knows no server of it. */
export async function modelBoundary(scenario: Scenario, request: BisectRequest, host: Host): Promise<ModelBoundary> {
  const cache = new Map<number, ModelPoint & { fits: boolean }>();
  const at = (value: number) => {
    let point = cache.get(value);
    if (!point) cache.set(value, (point = modelPoint(scenario, request, value, host)));
    return point;
  };
  const strip = ({ fits: _, ...point }: ModelPoint & { fits: boolean }): ModelPoint => point;
  let lo: ModelPoint;
  let hi: ModelPoint;
  try {
    lo = strip(at(request.grid.lo));
    hi = strip(at(request.grid.hi));
  } catch (error) {
    const zero = { value: 0, outcome: 'survived' as const, worstCaseBytes: 0, startUpBytes: 0 };
    return { lo: zero, hi: zero, unavailable: error instanceof Error ? error.message : String(error) };
  }
  const outcome = await crossingNear(request, at, 'outcome');
  const worstCase = await crossingNear(request, at, 'fits');
  return { lo, hi, ...(outcome ? { outcome } : {}), ...(worstCase ? { worstCase } : {}) };
}
