// The search of `oomlab bisect`, apart from what a probe is: both ends first, then halving, then the two
// values beside the boundary again. The run stage gives it real runs; the memory model's crossing uses it too.

/** The values a search may probe: lo, lo + step, …, and hi itself even when step does not divide the range. */
export interface SearchGrid {
  lo: number;
  hi: number;
  step: number;
}

/** Grid points past lo: the search needs at most 2 + ceil(log2(this)) probes before the repeats. */
export function gridIntervals(grid: SearchGrid): number {
  return Math.ceil((grid.hi - grid.lo) / grid.step);
}

export function gridValue(grid: SearchGrid, index: number): number {
  return Math.min(grid.lo + index * grid.step, grid.hi);
}

/** The most probes the search needs before the repeats at the boundary. */
export function maxSearchProbes(grid: SearchGrid): number {
  return 2 + Math.ceil(Math.log2(Math.max(1, gridIntervals(grid))));
}

/** `bound`: lo or hi; `search`: a halving; `repeat`: a value beside the boundary again, to catch a flaky one. */
export type ProbeRole = 'bound' | 'search' | 'repeat';

/** What the search needs to know of a probe: its outcome, or null when the probe could not decide one. */
export interface Probed<R> {
  value: number;
  role: ProbeRole;
  outcome: string | null;
  result: R;
}

export type SearchStatus = 'boundary' | 'no-boundary' | 'undecided' | 'cancelled';

export interface Boundary {
  /** The last value with the outcome lo has, and that outcome. */
  last: { value: number; outcome: string };
  /** The first value with another outcome, and that outcome. */
  first: { value: number; outcome: string };
  /** Every outcome each of the two values gave, the search's probe first. */
  outcomes: { last: string[]; first: string[] };
  /** Some repeat disagreed with the first probe of its value. */
  flaky: boolean;
}

export interface SearchResult<R> {
  status: SearchStatus;
  probes: Probed<R>[];
  boundary?: Boundary;
  /** With `no-boundary`: the one outcome both ends gave. */
  sameOutcome?: string;
}

export interface SearchOptions<R> {
  grid: SearchGrid;
  /** How many more times each of the two values beside the boundary runs. @default 2 */
  repeat?: number;
  probe: (value: number, role: ProbeRole) => Promise<{ outcome: string | null; result: R }>;
  /** Runs the repeats at once (one run of both values, side by side where `--jobs` allows), answering in the order given; absent, each goes through `probe`. */
  probeRepeats?: (values: number[]) => Promise<{ outcome: string | null; result: R }[]>;
  /** Called after every probe (progress lines, a partial report). */
  onProbe?: (probed: Probed<R>, index: number) => void;
  signal?: AbortSignal;
}

/**
 * Binary search for the value where the outcome changes: the outcome of lo is A; a halving whose outcome is
 * A moves lo up, any other moves hi down. The outcomes need not be two: the boundary is where A ends.
 */
export async function searchBoundary<R>(options: SearchOptions<R>): Promise<SearchResult<R>> {
  const { grid } = options;
  const probes: Probed<R>[] = [];
  const stopped = (): SearchStatus | undefined => {
    if (options.signal?.aborted) return 'cancelled';
    if (probes.some((p) => p.outcome === null)) return 'undecided';
    return undefined;
  };
  const run = async (index: number, role: ProbeRole): Promise<string | null> => {
    const value = gridValue(grid, index);
    const { outcome, result } = await options.probe(value, role);
    const probed = { value, role, outcome, result };
    probes.push(probed);
    options.onProbe?.(probed, probes.length - 1);
    return outcome;
  };

  let lo = 0;
  let hi = gridIntervals(grid);
  const low = await run(lo, 'bound');
  if (stopped()) return { status: stopped()!, probes };
  const high = await run(hi, 'bound');
  if (stopped()) return { status: stopped()!, probes };
  if (low === high) return { status: 'no-boundary', probes, sameOutcome: low! };

  let highOutcome = high!;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const outcome = await run(mid, 'search');
    if (stopped()) return { status: stopped()!, probes };
    if (outcome === low) lo = mid;
    else {
      hi = mid;
      highOutcome = outcome!;
    }
  }

  const outcomes = { last: [low!], first: [highOutcome] };
  const order = Array.from({ length: options.repeat ?? 2 }, () => [lo, hi]).flat();
  if (options.probeRepeats && order.length > 0) {
    const answers = await options.probeRepeats(order.map((index) => gridValue(grid, index)));
    for (const [k, answer] of answers.entries()) {
      const index = order[k]!;
      const probed = { value: gridValue(grid, index), role: 'repeat' as const, outcome: answer.outcome, result: answer.result };
      probes.push(probed);
      options.onProbe?.(probed, probes.length - 1);
      if (answer.outcome === null || options.signal?.aborted) return { status: stopped() ?? 'undecided', probes, boundary: boundaryOf(lo, hi, low!, highOutcome, outcomes) };
      (index === lo ? outcomes.last : outcomes.first).push(answer.outcome);
    }
    return { status: 'boundary', probes, boundary: boundaryOf(lo, hi, low!, highOutcome, outcomes) };
  }
  for (let k = 0; k < (options.repeat ?? 2); k++) {
    for (const [index, list] of [
      [lo, outcomes.last],
      [hi, outcomes.first],
    ] as const) {
      const outcome = await run(index, 'repeat');
      // A repeat that could not decide is reported as such, with the boundary found so far.
      if (outcome === null || options.signal?.aborted) return { status: stopped() ?? 'undecided', probes, boundary: boundaryOf(lo, hi, low!, highOutcome, outcomes) };
      list.push(outcome);
    }
  }
  return { status: 'boundary', probes, boundary: boundaryOf(lo, hi, low!, highOutcome, outcomes) };

  function boundaryOf(last: number, first: number, lastOutcome: string, firstOutcome: string, seen: Boundary['outcomes']): Boundary {
    return {
      last: { value: gridValue(grid, last), outcome: lastOutcome },
      first: { value: gridValue(grid, first), outcome: firstOutcome },
      outcomes: seen,
      flaky: seen.last.some((o) => o !== lastOutcome) || seen.first.some((o) => o !== firstOutcome),
    };
  }
}
