// Server settings as a user has them: a my.cnf, `SHOW GLOBAL VARIABLES` / `SHOW GLOBAL STATUS` output
// (the client's table, its tab-separated batch form or `\G`), or `--name=value` flags of a command line.

/** Variable name as the server spells it in SHOW VARIABLES: lowercase, underscores, no `loose-`. */
export function variableName(key: string): string {
  return key
    .trim()
    .toLowerCase()
    .replace(/-/g, '_')
    .replace(/^loose_/, '');
}

/** The sections mysqld reads (`[mysqld]`, `[server]`, `[mariadb]`, `[mysqld-5.7]`, `[mariadbd]`, `[galera]`). */
const SERVER_SECTION = /^(mysqld|server|mariadb|mariadbd|galera|mysqld-[\d.]+|mariadb-[\d.]+)$/i;

/** `[mysqld]`-type sections of a my.cnf: name → value as written (a bare switch reads `ON`). */
export function parseMyCnf(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  let inServer = false;
  let sawSection = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+[#;].*$/, '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';') || line.startsWith('!')) continue;
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      sawSection = true;
      inServer = SERVER_SECTION.test(section[1]!.trim());
      continue;
    }
    // A fragment without a section header is taken as [mysqld]: users paste the lines that matter.
    if (sawSection && !inServer) continue;
    const eq = line.indexOf('=');
    const key = variableName(eq === -1 ? line : line.slice(0, eq));
    if (!/^[a-z0-9_.]+$/.test(key)) continue;
    values[key] = eq === -1 ? 'ON' : unquote(line.slice(eq + 1).trim());
  }
  return values;
}

function unquote(value: string): string {
  const quoted = /^(['"])(.*)\1$/.exec(value);
  return quoted ? quoted[2]! : value;
}

/** `SHOW GLOBAL VARIABLES` / `SHOW GLOBAL STATUS` output in any of the client's shapes: name → value. */
export function parseVariablesTable(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const boxed = /^\|\s*([A-Za-z0-9_]+)\s*\|\s*(.*?)\s*\|$/.exec(line);
    const tabbed = /^([A-Za-z][A-Za-z0-9_]*)\t(.*)$/.exec(line);
    const vertical = /^\s*Variable_name:\s*(\S+)\s*$/.exec(line);
    if (vertical) {
      const value = /^\s*Value:\s?(.*)$/.exec(lines[i + 1] ?? '');
      if (value) values[variableName(vertical[1]!)] = value[1]!.trim();
      continue;
    }
    const match = boxed ?? tabbed;
    if (!match || /^variable_name$/i.test(match[1]!)) continue;
    values[variableName(match[1]!)] = match[2]!.trim();
  }
  return values;
}

/** `--innodb-buffer-pool-size=1536M` flags among a command's arguments. */
export function parseServerFlags(args: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const arg of args) {
    const flag = /^--([A-Za-z0-9_-]+)(?:=(.*))?$/.exec(arg.trim());
    if (!flag) continue;
    const key = variableName(flag[1]!);
    if (key.startsWith('skip_')) values[key.slice(5)] = 'OFF';
    else values[key] = flag[2] ?? 'ON';
  }
  return values;
}

/** Status counters that tell how many connections production really had. */
export const CONNECTION_STATUS = ['max_used_connections', 'threads_connected', 'threads_running'] as const;
