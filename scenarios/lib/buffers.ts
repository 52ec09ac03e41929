// Per-thread buffer settings shared by the incident 2 scenarios (a module, not a scenario: `oomlab
// list` reads only scenarios/*.ts).

/** Per-thread buffers of the incident's era: generous, as for a 64 GB host; each busy connection may hold tens of MiB. */
export const INCIDENT_ERA_BUFFERS = {
  sort_buffer_size: '4M',
  join_buffer_size: '4M',
  read_buffer_size: '2M',
  read_rnd_buffer_size: '4M',
  tmp_table_size: '64M',
  max_heap_table_size: '64M',
};

/** The same buffers sized so that a few hundred connections of them fit in 1 GiB. */
export const SIZED_BUFFERS = {
  sort_buffer_size: '256K',
  join_buffer_size: '256K',
  read_buffer_size: '128K',
  read_rnd_buffer_size: '256K',
  tmp_table_size: '2M',
  max_heap_table_size: '2M',
};
