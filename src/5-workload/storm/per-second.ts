export interface SecondPercentiles {
  latencyP50Ms: number;
  latencyP90Ms: number;
  latencyP99Ms: number;
}

/** Percentiles of one second's values: few enough to sort, and no histogram per second to carry. */
export function percentilesOf(valuesMs: number[]): SecondPercentiles | undefined {
  if (valuesMs.length === 0) return undefined;
  // A typed array sorts numerically in native code: a comparator called from the sort was about 3% of a
  // query storm's client CPU (tens of thousands of values a second).
  const sorted = Float64Array.from(valuesMs).sort();
  const at = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! * 1000) / 1000;
  return { latencyP50Ms: at(50), latencyP90Ms: at(90), latencyP99Ms: at(99) };
}

/**
 * Values grouped by second, kept only until their second can get no more: then its percentiles are
 * computed and the values dropped. A storm's memory then follows its sessions in flight, not its length
 * (a 30-minute storm opens millions of sessions).
 */
export class PerSecondPercentiles {
  readonly #open = new Map<number, { values: number[]; pending: number }>();
  readonly #closed = new Map<number, SecondPercentiles | undefined>();
  /** Seconds below this get no new values; each closes once its expected values have come. */
  #watermark = 0;

  add(second: number, value: number): void {
    this.#entry(second).values.push(value);
  }

  /** A value for `second` may still come (a session that started in it is still connecting). */
  expect(second: number): void {
    this.#entry(second).pending++;
  }

  /** An expected value came (added first) or never will. */
  settle(second: number): void {
    const entry = this.#open.get(second);
    if (!entry) return;
    entry.pending--;
    if (entry.pending === 0 && second < this.#watermark) this.#close(second);
  }

  /** No new values come for the seconds before `second`, only the expected ones. */
  closeBefore(second: number): void {
    if (second <= this.#watermark) return;
    this.#watermark = second;
    for (const [s, entry] of this.#open) if (s < second && entry.pending === 0) this.#close(s);
  }

  /** Seconds whose values are still kept. */
  get openSeconds(): number {
    return this.#open.size;
  }

  /** The percentiles of `second`, once the storm is over: what is still open closes now. */
  of(second: number): SecondPercentiles | undefined {
    if (this.#open.has(second)) this.#close(second);
    return this.#closed.get(second);
  }

  #entry(second: number) {
    let entry = this.#open.get(second);
    if (!entry) {
      entry = { values: [], pending: 0 };
      this.#open.set(second, entry);
    }
    return entry;
  }

  #close(second: number): void {
    this.#closed.set(second, percentilesOf(this.#open.get(second)!.values));
    this.#open.delete(second);
  }
}
