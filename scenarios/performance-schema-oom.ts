// performance_schema sized at start-up beyond a small limit: MariaDB's performance_schema (off by
// default) allocates and zeroes its instrument tables while the server starts, before it answers. A
// my.cnf copied from a big host (performance_schema=ON, max_connections 5000 and instrument sizes of
// 100 000 tables, handles, digests and statements of history) in a 512 MiB container: the tables alone
// take about 570 MiB, and mariadbd is OOM-killed at start-up, before any load. The fixes: performance_schema
// off, or on with its sizes left to the server (autosized from max_connections and the table caches).
import { defineScenario } from 'oomlab';

/** Production's my.cnf, copied from a big host. */
const PRODUCTION = {
  performance_schema: 'ON',
  max_connections: 5000,
  performance_schema_max_table_instances: 100_000,
  performance_schema_max_table_handles: 100_000,
  performance_schema_digests_size: 100_000,
  performance_schema_events_statements_history_long_size: 100_000,
};

const CHANGES = {
  production: PRODUCTION,
  'performance-schema-off': { ...PRODUCTION, performance_schema: 'OFF' },
  autosized: { performance_schema: 'ON', max_connections: 5000 },
} as const;

export default defineScenario({
  name: 'performance-schema-oom',
  incident:
    "performance_schema=ON with a big host's instrument sizes (100 000 table instances, handles, digests, statements of history) in a 512 MiB container: mariadbd is OOM-killed at start-up, before it answers",
  matrix: {
    image: ['oomlab/mariadb:10.11'],
    change: ['production', 'performance-schema-off', 'autosized'],
    memory: ['512m'],
  },
  instances: (c) => ({
    db: {
      image: c.image,
      memory: c.memory,
      mycnf: { innodb_buffer_pool_size: '128M', ...CHANGES[c.change] },
      readyTimeoutMs: 60_000,
      settleMs: 3_000,
    },
  }),
  expect: (c) => {
    if (c.change === 'production') return { db: { outcome: 'oom-killed-at-startup', because: "the instrument tables sized from the big host's values exceed 512 MiB before the server answers" } };
    return {
      db: {
        outcome: 'survived',
        because: c.change === 'performance-schema-off' ? 'with performance_schema off nothing is allocated for instruments' : 'autosized instrument tables for 5000 connections take about 140 MiB',
      },
    };
  },
});
