import { describe, expect, it } from 'vitest';
import { Timeline } from '../../src/4-observe/index.ts';
import { peakConnectionRatio } from '../../src/6-judge/index.ts';

// Threads_connected as the load sampler records it (one of them is the sampler's own connection).
function timelineOf(rows: [t: number, a: number, b: number][], deaths: [t: number, instance: string, action: string][] = []): Timeline {
  let now = 0;
  const timeline = new Timeline(() => now);
  for (const [t, a, b] of rows) {
    now = t;
    timeline.add({ kind: 'sample', instance: 'a', source: 'status', metric: 'Threads_connected', value: a });
    timeline.add({ kind: 'sample', t: t + 30, instance: 'b', source: 'status', metric: 'Threads_connected', value: b });
  }
  for (const [t, instance, action] of deaths) timeline.add({ kind: 'docker-event', t, instance, action });
  return timeline;
}

describe('peakConnectionRatio (B:A)', () => {
  it('follows the shift 1:1 → 2:1 → 4:1 and counts client connections only', () => {
    const timeline = timelineOf([
      [1000, 11, 11],
      [2000, 11, 21],
      [3000, 11, 41],
    ]);
    expect(peakConnectionRatio(timeline, 'b', 'a')).toBe(4);
  });

  it('stops at the first death of either replica: connections after a kill say nothing about the shift', () => {
    const timeline = timelineOf(
      [
        [1000, 11, 21],
        [2000, 1, 500],
      ],
      [
        [1500, 'a', 'oom'],
        [1900, 'a', 'die'],
      ],
    );
    expect(peakConnectionRatio(timeline, 'b', 'a')).toBe(2);
  });

  it('is undefined without a second where A held a client connection', () => {
    expect(peakConnectionRatio(timelineOf([[1000, 1, 30]]), 'b', 'a')).toBeUndefined();
  });
});

describe('peakConnectionRatio when a replica stops answering SHOW STATUS', () => {
  it("takes the app tier's socket counts for the seconds the servers did not answer", () => {
    const timeline = timelineOf([[1000, 11, 11]]);
    let now = 0;
    const tier = new Timeline(() => now);
    for (const o of timeline.observations) tier.add(o);
    now = 2000;
    // Second 2: A did not answer SHOW STATUS; the tier holds 10 connections to A and 40 to B.
    tier.add({ kind: 'sample', instance: 'a', source: 'app-tier', metric: 'openConnections', value: 10 });
    tier.add({ kind: 'sample', instance: 'b', source: 'app-tier', metric: 'openConnections', value: 40 });
    now = 2500;
    tier.add({ kind: 'sample', instance: 'b', source: 'status', metric: 'Threads_connected', value: 45 });
    expect(peakConnectionRatio(tier, 'b', 'a')).toBe(4);
  });
});

describe('peakConnectionRatio on a quarter-second grid (the app tier is sampled four times a second)', () => {
  // From a run: A dies at 9034 ms; on a 1 s grid the last tier sample before it read 35:66 (1.89),
  // while the tier had moved most of A's clients to B in the quarter seconds before the kill.
  const tier = new Timeline(() => 0);
  const add = (t: number, a: number, b: number) => {
    tier.add({ kind: 'sample', t, instance: 'a', source: 'app-tier', metric: 'openConnections', value: a });
    tier.add({ kind: 'sample', t, instance: 'b', source: 'app-tier', metric: 'openConnections', value: b });
  };
  add(8000, 35, 66);
  add(8250, 20, 80);
  add(8500, 9, 95);
  add(8750, 4, 120);
  add(9250, 0, 141);
  tier.add({ kind: 'docker-event', t: 9034, instance: 'a', action: 'die' });

  it('sees the shift the 1 s grid missed, and nothing after the kill', () => {
    expect(peakConnectionRatio(tier, 'b', 'a', 250)).toBe(30);
  });
});
