import { readFile } from 'node:fs/promises';

/** The figures of /proc/<pid>/status that show what a process allocated, in bytes. */
export interface ProcessMemory {
  /** Address space: mariadbd reserves about 8 TiB up front here, so only differences mean anything. */
  vmSizeBytes: number;
  /** Private data mappings: where a malloc'ed table lands, touched or not. */
  vmDataBytes: number;
  /** Anonymous resident memory: what a bzero'ed table costs the memory cgroup. */
  rssAnonBytes: number;
}

const FIELDS = { VmSize: 'vmSizeBytes', VmData: 'vmDataBytes', RssAnon: 'rssAnonBytes' } as const;

export function parseProcStatus(text: string): ProcessMemory {
  const found: Partial<ProcessMemory> = {};
  for (const match of text.matchAll(/^(VmSize|VmData|RssAnon):\s+(\d+) kB$/gm)) found[FIELDS[match[1] as keyof typeof FIELDS]] = Number(match[2]) * 1024;
  const missing = Object.keys(FIELDS).filter((field) => found[FIELDS[field as keyof typeof FIELDS]] === undefined);
  if (missing.length > 0) throw new Error(`/proc status without ${missing.join(', ')}: not a process status file`);
  return found as ProcessMemory;
}

export async function readProcessMemory(pid: number): Promise<ProcessMemory> {
  return parseProcStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
}
