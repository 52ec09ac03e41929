import { describe, expect, it } from 'vitest';
import {
  createBalancer,
  FastestBalancer,
  LeastConnectionsBalancer,
  recentLatencyMs,
  RoundRobinBalancer,
  updateEwma,
  type Balancer,
  type LatencyEwma,
  type ReplicaLoad,
} from '../../src/5-workload/app-tier/balancers.ts';
import { seededRandom } from '../../src/5-workload/feed.ts';

const load = (activeRequests: number, latencyEwmaMs: number | null, oldestActiveMs = 0): ReplicaLoad => ({ activeRequests, latencyEwmaMs, oldestActiveMs });
const idle = (latencyEwmaMs: number | null = null) => load(0, latencyEwmaMs);
const picks = (balancer: Balancer, state: readonly ReplicaLoad[], n: number) => Array.from({ length: n }, () => balancer.pick(state));

describe('round-robin', () => {
  it('takes each replica in turn, blind to load and latency', () => {
    expect(picks(new RoundRobinBalancer(), [load(50, 900, 800), idle(1), idle(1)], 7)).toEqual([0, 1, 2, 0, 1, 2, 0]);
  });
});

describe('least-connections', () => {
  it('picks the replica with the fewest requests in flight, whatever their latency', () => {
    const balancer = new LeastConnectionsBalancer();
    expect(balancer.pick([load(3, 1), load(1, 500)])).toBe(1);
    expect(balancer.pick([load(0, 500), load(1, 1)])).toBe(0);
  });

  it('breaks ties in turn', () => {
    expect(picks(new LeastConnectionsBalancer(), [idle(), idle(), idle()], 6)).toEqual([0, 1, 2, 0, 1, 2]);
  });
});

describe('fastest', () => {
  it('measures each replica once before comparing', () => {
    const balancer = new FastestBalancer();
    expect(balancer.pick([idle(), idle()])).toBe(0);
    // 0 has a request in flight and no answer yet: 1 is the one still to measure.
    expect(balancer.pick([load(1, null), idle()])).toBe(1);
    // Both in flight, neither answered: in turn.
    expect(picks(balancer, [load(1, null), load(1, null)], 2)).toEqual([0, 1]);
  });

  it('does not pile requests onto a replica that has not answered yet', () => {
    expect(picks(new FastestBalancer(), [load(5, null, 30), idle(8)], 10)).not.toContain(0);
  });

  it('sends all but one pick in exploreEvery to the lowest recent latency; the explorer goes to the replica picked longest ago', () => {
    const balancer = new FastestBalancer({ exploreEvery: 5 });
    // Picks 5 and 10 explore: 0 and 2 were never picked (a tie, taken in turn), then the other one.
    expect(picks(balancer, [idle(40), idle(4), idle(9)], 10)).toEqual([1, 1, 1, 1, 2, 1, 1, 1, 1, 0]);
  });

  it('counts a request still waiting as latency: no herd onto a replica whose EWMA is stale', () => {
    const balancer = new FastestBalancer({ exploreEvery: 100 });
    // A answered in 2ms a while ago, but its request in flight has waited 40ms; B answers in 6ms.
    expect(balancer.pick([load(3, 2, 40), load(4, 6, 5)])).toBe(1);
    expect(recentLatencyMs(load(3, 2, 40))).toBe(40);
    expect(recentLatencyMs(load(3, 2, 1))).toBe(2);
    expect(recentLatencyMs(load(1, null, 1))).toBe(Number.POSITIVE_INFINITY);
  });

  it('breaks ties between equal latencies in turn', () => {
    expect(picks(new FastestBalancer({ exploreEvery: 100 }), [idle(5), idle(5), idle(9)], 4)).toEqual([0, 1, 0, 1]);
  });

  it('rejects an exploreEvery below 2, an empty replica list and an unknown kind, quoting what it got', () => {
    expect(() => new FastestBalancer({ exploreEvery: 1 })).toThrow('expected `exploreEvery` to be an integer of at least 2, got `1`');
    expect(() => new FastestBalancer().pick([])).toThrow('a balancer needs at least one replica to pick from, got none');
    expect(() => createBalancer('random' as never)).toThrow('unknown balancer `random`; expected one of round-robin, least-connections, fastest');
  });
});

describe('updateEwma', () => {
  it('starts at the first sample, then weighs history by e^(-Δt/decayMs)', () => {
    expect(updateEwma(null, 12, 5_000, 1_000)).toEqual({ valueMs: 12, atMs: 5_000 });
    const previous = { valueMs: 10, atMs: 0 };
    expect(updateEwma(previous, 20, 1_000, 1_000).valueMs).toBeCloseTo(10 + 10 * (1 - Math.exp(-1)), 10);
    // Answers close together move it little; one after a long silence nearly replaces it.
    expect(updateEwma(previous, 20, 10, 1_000).valueMs).toBeCloseTo(10.1, 2);
    expect(updateEwma(previous, 20, 10_000, 1_000).valueMs).toBeCloseTo(20, 3);
    expect(updateEwma(previous, 20, 0, 1_000)).toEqual({ valueMs: 10, atMs: 0 });
  });
});

interface PhaseOutcome {
  shareB: number;
  /** Mean requests in flight: the connections a pool holds busy. */
  connectionsA: number;
  connectionsB: number;
  windowSharesB: number[];
}

/**
 * Two replicas as processor-sharing servers (one core each: n requests in flight each run at 1/n speed)
 * behind a balancer, fed as the tier feeds it (1s latency decay). Requests arrive at random (Poisson,
 * `arrivalEveryMs` apart on average) with random work (exponential, the phase's mean per replica), so
 * latency grows with the load a replica is sent. A simulated clock: deterministic, and fast.
 */
function simulate(balancer: Balancer, phases: { durationMs: number; workMs: [number, number] }[], arrivalEveryMs: number, windowMs = 2_000): PhaseOutcome[] {
  const random = seededRandom(7);
  const exponential = (mean: number) => -Math.log(1 - random()) * mean;
  const stepMs = 0.5;
  let inFlight: { remainingMs: number; startedAt: number }[][] = [[], []];
  const ewma: (LatencyEwma | null)[] = [null, null];
  let t = 0;
  let nextArrival = 0;
  return phases.map((phase) => {
    const phaseStart = t;
    const sent = [0, 0];
    const inFlightSum = [0, 0];
    const windows: [number, number][] = [];
    let steps = 0;
    while (t < phaseStart + phase.durationMs) {
      while (nextArrival <= t) {
        const state = inFlight.map((list, i) => load(list.length, ewma[i]?.valueMs ?? null, list.length > 0 ? t - list[0]!.startedAt : 0));
        const chosen = balancer.pick(state) as 0 | 1;
        inFlight[chosen]!.push({ remainingMs: exponential(phase.workMs[chosen]), startedAt: t });
        sent[chosen]!++;
        (windows[Math.floor((t - phaseStart) / windowMs)] ??= [0, 0])[chosen]++;
        nextArrival += exponential(arrivalEveryMs);
      }
      inFlight = inFlight.map((list, i) => {
        const progressMs = stepMs / Math.max(1, list.length);
        for (const request of list) request.remainingMs -= progressMs;
        for (const done of list.filter((r) => r.remainingMs <= 0)) ewma[i] = updateEwma(ewma[i]!, t + stepMs - done.startedAt, t + stepMs, 1_000);
        const left = list.filter((r) => r.remainingMs > 0);
        inFlightSum[i]! += left.length;
        return left;
      });
      steps++;
      t += stepMs;
    }
    return {
      shareB: sent[1]! / (sent[0]! + sent[1]!),
      connectionsA: inFlightSum[0]! / steps,
      connectionsB: inFlightSum[1]! / steps,
      windowSharesB: windows.map(([a, b]) => b / (a + b)),
    };
  });
}

describe('fastest under load (simulated replicas)', () => {
  // Replica A (index 0) slows in steps, as its host's free memory ran out in incident 2; B stays as it was.
  // A query costs 10ms of a core, so B alone could carry 100 requests/s; they arrive at 50/s.
  const phases = [1, 2, 4, 1].map((slowdown) => ({ durationMs: 20_000, workMs: [10 * slowdown, 10] as [number, number] }));
  const ratio = (phase: PhaseOutcome) => phase.connectionsB / phase.connectionsA;

  it('moves most requests and connections off the slow replica, more the slower it gets, and back when it recovers', () => {
    const [even, twice, fourTimes, recovered] = simulate(new FastestBalancer(), phases, 20);
    // Printed for the record: the shape the unit test pins down.
    console.log(
      [even!, twice!, fourTimes!, recovered!]
        .map(
          (p, i) =>
            `A ×${[1, 2, 4, 1][i]}: B gets ${(p.shareB * 100).toFixed(0)}% of requests, connections B:A ${ratio(p).toFixed(2)}:1, B's share per 2s ${p.windowSharesB.map((w) => w.toFixed(2)).join(' ')}`,
        )
        .join('\n'),
    );
    expect(even!.shareB).toBeGreaterThan(0.4);
    expect(even!.shareB).toBeLessThan(0.6);
    expect(ratio(even!)).toBeGreaterThan(0.75);
    expect(ratio(even!)).toBeLessThan(1.33);
    // Gradual: the split follows how much slower A is, rather than everything to B at the first slow answer.
    expect(twice!.shareB).toBeGreaterThan(0.7);
    expect(twice!.shareB).toBeLessThan(fourTimes!.shareB);
    expect(fourTimes!.shareB).toBeLessThan(0.96);
    expect(ratio(twice!)).toBeGreaterThan(1.5);
    expect(ratio(fourTimes!)).toBeGreaterThan(1.5);
    // The explorer finds the recovered replica: the split is even again within the phase.
    const afterFirstWindow = recovered!.windowSharesB.slice(1);
    expect(afterFirstWindow.reduce((sum, share) => sum + share, 0) / afterFirstWindow.length).toBeLessThan(0.6);
  });

  it('round-robin keeps the split even whatever A does, so the connections pile up on A instead', () => {
    const [even, twice] = simulate(new RoundRobinBalancer(), phases.slice(0, 2), 20);
    expect(even!.shareB).toBeCloseTo(0.5, 1);
    expect(twice!.shareB).toBeCloseTo(0.5, 1);
    expect(twice!.connectionsA).toBeGreaterThan(twice!.connectionsB * 2);
  });
});
