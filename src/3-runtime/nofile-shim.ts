import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { OomlabError } from '../0-model/errors.ts';

const SOURCE = resolve(dirname(fileURLToPath(import.meta.url)), 'nofile-shim/nofile-shim.c');
const CACHE = resolve(dirname(fileURLToPath(import.meta.url)), '../../node_modules/.cache/oomlab');

/** Where the shim lives inside a container, and the variables it reads. */
export const SHIM_CONTAINER_PATH = '/oomlab/nofile-shim.so';

/**
 * Compiles the getrlimit shim once per source version (cached by hash). -nostdlib keeps it free
 * of versioned glibc symbols, so it loads in glibc 2.17 (mysql:5.7) as well as bookworm.
 */
export async function buildNofileShim(): Promise<string> {
  const source = await readFile(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 12);
  const output = join(CACHE, `nofile-shim-${hash}.so`);
  if (existsSync(output)) return output;
  await mkdir(CACHE, { recursive: true });
  const partial = `${output}.${process.pid}.tmp`;
  const compiled = await execa('cc', ['-O2', '-fPIC', '-shared', '-nostdlib', '-fno-stack-protector', '-fno-builtin', '-o', partial, SOURCE], { reject: false, timeout: 60_000 });
  if (compiled.failed) {
    throw new OomlabError('SHIM_BUILD_FAILED', `cannot compile the nofile shim with cc: ${compiled.stderr.split('\n')[0] ?? compiled.shortMessage} — install gcc (apt-get install -y gcc)`);
  }
  await rename(partial, output);
  return output;
}

/** How an instance gets its nofile: really (within the host's ceiling) or emulated above it. */
export interface NofilePlan {
  ulimit?: { soft: number; hard: number };
  env: Record<string, string>;
  emulated: boolean;
  realLimit: number | 'default';
}

export function planNofile(requested: number | 'default' | undefined, hostHardLimit: number): NofilePlan {
  if (requested === undefined || requested === 'default') return { env: {}, emulated: false, realLimit: 'default' };
  if (requested <= hostHardLimit) {
    return { ulimit: { soft: requested, hard: requested }, env: {}, emulated: false, realLimit: requested };
  }
  return {
    ulimit: { soft: hostHardLimit, hard: hostHardLimit },
    env: {
      OOMLAB_NOFILE_EMULATED: String(requested),
      OOMLAB_NOFILE_START: String(hostHardLimit),
    },
    emulated: true,
    realLimit: hostHardLimit,
  };
}
