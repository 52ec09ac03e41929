import { readFileSync } from 'node:fs';
import type { NodeAccess } from '../3-runtime/index.ts';

/**
 * A /proc, /sys or cgroup file, or undefined when it is gone (a container that died takes its cgroup).
 * Read synchronously on purpose: these files are made by the kernel on read and never wait for a disk,
 * while fs/promises's readFile goes through the thread pool four times (open, stat, read, close), which
 * on a storm's pinned core cost the samplers more than the reading (bench/storm.ts's observers line).
 */
export function readKernelFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Reads a file of the node an instance lives on. */
export type NodeRead = (path: string) => Promise<string | undefined>;

/** This host's files (read as `readKernelFile` does), or another node's through its `NodeAccess` (a lab VM's agent). */
export function nodeReader(node?: Pick<NodeAccess, 'readFile'>): NodeRead {
  return node ? (path) => node.readFile(path) : async (path) => readKernelFile(path);
}
