// Incident 2's scraping burst through the app tier, as scraping-burst and degraded-replica both drive it:
// one new database connection per request, 20 → 150 requests/s over 5 s, then 200/s.

/** The burst's shape over replicas `a` and `b`; `fullRateMs` is how long it stays at 200 requests/s. */
export function scrapingBurst(balancer: 'round-robin' | 'least-connections' | 'fastest', fullRateMs: number) {
  return {
    kind: 'http-burst' as const,
    targets: ['a' as const, 'b' as const],
    balancer,
    // Scrapers open a connection per request: connections follow the traffic.
    connectionMode: 'new-connection' as const,
    seed: { users: 2_000, posts: 40_000, followsPerUser: 20 },
    startPerSecond: 20,
    stages: [
      { targetPerSecond: 150, durationMs: 5_000 },
      { targetPerSecond: 200, durationMs: fullRateMs },
    ],
    paths: [
      { path: '/feed', weight: 3 },
      { path: '/popular', weight: 2 },
      { path: '/user', weight: 1 },
    ],
    // Scrapers time out and retry, they do not wait forever: at most 600 requests (and so connections) open at once.
    maxInFlight: 600,
    drainMs: 10_000,
  };
}
