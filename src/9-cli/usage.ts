// The command table `oomlab --help` prints; docs/cli.md is generated from it (tools/cli-doc.ts) and a test keeps them equal.

export const USAGE = `usage: oomlab <command>

  run <scenario.ts...> [--only axis=value[,value] (repeat for more axes)] [--set axis=value,...]
                      [--reports-dir dir] [--baseline report.json] [--repeat K] [--jobs N] [--pull] [--json]
                      [--shard I/N] [--host docker|lab[:SHAPE][,memory=SIZE][,room=SIZE][,min_ttl_ms=N]]
      run every configuration of a scenario and write reports/<time>-<scenario>/;
      --jobs N runs up to N configurations at once; by default those that only start and
      settle run side by side (two per core, their memory limits within what the host has
      available), load and host-wide ones (THP, drop_caches, neighbours) one at a time;
      --host lab:SHAPE runs them in one lab VM of that shape (default, v1, numa2, numa2-uneven, nofile,
      docker-2019, containerd-infinity, runtime-today), booted for the run and removed after it (KVM
      where it works, else TCG, several times slower); a scenario's host(config).runtime wins over it
      for its configurations: one VM per distinct shape, in turn;
      memory=SIZE sets the VM's memory (a global OOM's machine, e.g. --host lab:default,memory=2g);
      room=SIZE has a ballast hold all the booted guest has available but SIZE (what production's
      server had on a machine that ran other things beside it); min_ttl_ms=N turns on the
      multi-gen LRU's thrashing prevention, so the kernel's OOM killer fires rather than reclaim
      going on for minutes;
      --repeat K runs each configuration K times: pass or fail only when all K agree,
      else flaky (listed apart, each repeat's figures); flaky exits 1 like a failure;
      --set replaces an axis's values without editing the file (repeat for several axes):
      an image axis takes any image (--set image=oomlab/mysql:9.7), a numeric axis any number;
      --shard 2/3 runs the second of three parts of the matrix (split by configuration id)
  from-incident [FILE...] [--mycnf F] [--limits F] [--server IMAGE] [--limit SIZE] [--phase P]
                [--name NAME] [--out scenarios/NAME.ts] [--run] [--host lab[:SHAPE][,memory=SIZE][,room=SIZE]]
                [--json]
      from production's OOM to a scenario: reads the kernel's OOM lines (a file, or - / a pipe
      for standard input), a my.cnf or SHOW GLOBAL VARIABLES, /proc/<pid>/limits or ulimit -a,
      docker inspect JSON, a compose file or a Kubernetes manifest, in any mix; prints the
      causes ranked with the figures for and against each, what is unknown and what to collect,
      and writes scenarios/<name>.ts: production's configuration and each candidate fix on its
      own (none when the evidence is insufficient, or when the leading cause lacks a figure its
      scenario needs, said in one line); --run runs it at once; --name NAME names it
      (and its reports), refused when scenarios/NAME.ts exists; without --name a taken name
      gets the next free one (NAME-2), said on stderr; --host runs it in a lab VM, which the
      scenario names (\`oomlab run\` on it alone boots the same VM): for a global OOM the VM
      gets production's machine size (memory=, else --limit, else the kernel's pages RAM,
      else an old kill line's score) and the server no container limit, so the kill is global
      too; unless the cause is neighbours it also gets room= production's victim's rss at the
      kill, a ballast holding the rest for what production ran beside it (the VM grows where
      its own system leaves less, and needs no size when the machine's is unknown), and
      min_ttl_ms=1000;
      --phase start-up, under-load or after-load says when production died; --json prints
      { causes: [{ id, score, for, against }], unknown, collect, scenario }
  merge <shard-dir...> [--out dir] [--baseline report.json] [--json]
      one report of the whole matrix from the reports of \`run --shard I/N\`; refuses shards of
      different scenarios or versions, and names configurations that are missing or doubled
  bisect <scenario.ts> --config ID --axis NAME --range LO..HI [--step N] [--repeat-boundary K] [--out dir]
      where one configuration's outcome changes along a number or size axis: LO and HI first,
      then halving (≤ 2 + ceil(log2((HI-LO)/step)) runs), then K more runs (default 2) on each
      side of the boundary, all in one run (side by side when they only start and settle);
      each probe a real run; the memory model's boundary beside it;
      --config is the id without the axis (or with any value of it); exit 1 when no boundary
      is in the range or the boundary is flaky
  report <run-dir> [--baseline report.json]
      re-render report.md, report.html and junit.xml from the run's report.json
  compare <run-a> <run-b> [--out dir]
      two runs side by side, configuration by configuration (paired by id, or by their axes
      without the image): outcome, verdict, peak memory, p99 latency; prints compare.md and
      writes it with compare.html into reports/<time>-compare/
  images [scenario.ts...] [--json]
      every image scenarios name or offline recipes build, whether it is usable here, and
      what each scenario still lacks and how to get it; nothing is pulled
  images load <archive.tar...>
      load a \`docker save\` archive into the engine and say which tags it brought
  probe <image...> [--json]
      what one file descriptor costs each server: start it at nofile 65536 and 16777216
      (emulated) with open_files_limit set to each, fit the resident bytes per descriptor,
      and carry them to nofile 1073741816 (containerd's infinity); seconds, no OOM kill
  doctor                     what this host can run, and why not
  list [scenario.ts...]      the scenarios, their incidents and axes
  clean [--all]              remove containers left by runs that are no longer alive,
                             and restore host settings (THP) they changed; exits 0 once
                             all it could remove is gone: a container the engine cannot
                             remove is reported as \`stuck:\` with what to do by hand

exit codes: 0 every configuration ran as expected, 1 an expectation failed, a configuration
            was flaky under --repeat or regressed against --baseline, 2 the harness or the host
            failed (or bad input), 130 interrupted`;

/** One command's lines of USAGE, for \`oomlab <command> --help\`: from its line to the next command's. */
export function commandUsage(command: string): string | undefined {
  const lines = USAGE.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`  ${command} `) || line === `  ${command}`);
  if (start < 0) return undefined;
  const end = lines.findIndex((line, i) => i > start && /^ {2}\S/.test(line) && !line.startsWith(`  ${command} `));
  return ['usage: oomlab', ...lines.slice(start, end < 0 ? undefined : end)].join('\n');
}
