// k6's threshold grammar (`'http_req_duration': ['p(99)<2000']`), read once when the scenario is
// validated; the judge evaluates the parsed form on oomlab's own figures, whichever driver ran.

export const THRESHOLD_OPERATORS = ['<', '<=', '>', '>=', '==', '===', '!='] as const;
export type ThresholdOperator = (typeof THRESHOLD_OPERATORS)[number];

/** What a figure of the load is called in a threshold, per workload kind, and which aggregates oomlab measures of it. */
export const THRESHOLD_METRICS = {
  'http-burst': {
    /** Latency of every finished request from its intended start (the stand-in's figure; k6's iteration_duration). */
    http_req_duration: ['p(50)', 'p(90)', 'p(99)', 'p(99.9)', 'med', 'max'],
    iteration_duration: ['p(50)', 'p(90)', 'p(99)', 'p(99.9)', 'med', 'max'],
    /** Failed requests over finished ones. */
    http_req_failed: ['rate'],
    http_reqs: ['count'],
    dropped_iterations: ['count'],
  },
  storm: {
    query_duration: ['p(50)', 'p(90)', 'p(99)', 'p(99.9)', 'med', 'max'],
    connect_duration: ['p(50)', 'p(90)', 'p(99)', 'p(99.9)', 'med', 'max'],
    /** Failed sessions over finished ones. */
    session_failed: ['rate'],
    sessions: ['count'],
  },
} as const satisfies Record<string, Record<string, readonly string[]>>;

export type ThresholdKind = keyof typeof THRESHOLD_METRICS;

/** One threshold expression, parsed: `p(99)<2000` on `http_req_duration`. */
export interface Threshold {
  metric: string;
  /** As written, e.g. `p(99)<2000`: what k6 is given and what the verdict quotes. */
  expression: string;
  aggregate: string;
  operator: ThresholdOperator;
  value: number;
}

const EXPRESSION = /^\s*(p\(\d+(?:\.\d+)?\)|avg|min|max|med|rate|count|value)\s*(===|==|!=|<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/;

/**
 * Parses `{ metric: [expressions] }` for a workload kind; returns the thresholds, or the first problem
 * as one sentence that quotes what it received and says what is allowed.
 */
export function parseThresholds(kind: ThresholdKind, declared: Record<string, readonly string[]>): Threshold[] | string {
  const metrics: Record<string, readonly string[]> = THRESHOLD_METRICS[kind];
  const parsed: Threshold[] = [];
  for (const [metric, expressions] of Object.entries(declared)) {
    const aggregates = metrics[metric];
    if (!aggregates) return `\`${metric}\` is not a figure oomlab measures for a ${kind} workload; it measures ${Object.keys(metrics).join(', ')}`;
    for (const expression of expressions) {
      const match = EXPRESSION.exec(expression);
      if (!match) return `\`${metric}\` has \`${expression}\`, which is not a k6 threshold; write it like p(99)<2000 or rate<0.05`;
      const aggregate = match[1]!;
      if (!aggregates.includes(aggregate)) return `\`${metric}\` has \`${expression}\`: oomlab measures ${aggregates.join(', ')} of ${metric}, not ${aggregate}`;
      parsed.push({ metric, expression: expression.trim(), aggregate, operator: match[2] as ThresholdOperator, value: Number(match[3]) });
    }
  }
  return parsed;
}
