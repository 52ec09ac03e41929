// Defaults of the load drivers that the plan's memory model reads too, so both count the same connections.

/** Sessions a storm keeps in flight at most when its workload names no `maxInFlight`. */
export const STORM_MAX_IN_FLIGHT = 4_000;

/** Requests an HTTP burst keeps in flight at most (the stand-in's cap, k6's maxVUs) when its workload names no `maxInFlight`. */
export const HTTP_MAX_IN_FLIGHT = 1_000;

/** Connections per replica of the app tier's pool (`connectionMode: 'pool'`) when the workload names no `poolSize`. */
export const BURST_POOL_SIZE = 50;

/** The feed rows a workload seeds when it names no `seed`: the storm's and the app tier's data. */
export const DEFAULT_SEED = { users: 2_000, posts: 40_000, followsPerUser: 20 } as const;
