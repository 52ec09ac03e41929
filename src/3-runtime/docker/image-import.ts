import { PassThrough } from 'node:stream';
import { execa } from 'execa';
import { OomlabError, describeError } from '../../0-model/errors.ts';
import type { Engine } from './engine.ts';

export interface ImportOptions {
  /** `repo:tag` to import as. */
  name: string;
  /** Dockerfile instructions applied on import (ENTRYPOINT, CMD, ENV, LABEL…). */
  changes?: readonly string[];
  signal?: AbortSignal;
}

export interface ImportResult {
  imageId: string;
  tarBytes: number;
}

/**
 * Tars a root filesystem into `docker import`. The tar stream is taken up in the same tick it is
 * created: execa resumes an unread `buffer: false` stdout after one setImmediate, and dockerode only
 * pipes its request body after the socket path resolves, so chunks in between were dropped and the
 * engine saw a truncated or misaligned tar ("invalid tar header", or an image without /etc/passwd).
 */
export async function importRootfs(engine: Engine, rootfs: string, options: ImportOptions): Promise<ImportResult> {
  const tar = execa('tar', ['--numeric-owner', '-C', rootfs, '-c', '.'], {
    buffer: { stdout: false, stderr: true },
    reject: false,
    timeout: 600_000,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  });
  const body = new PassThrough({ highWaterMark: 1 << 20 });
  let tarBytes = 0;
  body.on('data', (chunk: Buffer) => (tarBytes += chunk.length)).pause();
  tar.stdout.pipe(body);
  const [repo, tag] = splitName(options.name);
  let imageId = '';
  try {
    const response = await engine.streams.importImage(body as never, { repo, tag, changes: [...(options.changes ?? [])], ...(options.signal ? { abortSignal: options.signal } : {}) } as never);
    await new Promise<void>((done, reject) =>
      engine.streams.modem.followProgress(
        response as unknown as NodeJS.ReadableStream,
        (error: Error | null) => (error ? reject(error) : done()),
        (event: { status?: string }) => {
          if (event.status?.startsWith('sha256:')) imageId = event.status;
        },
      ),
    );
  } catch (error) {
    tar.kill();
    await tar;
    throw new OomlabError('IMAGE_BUILD_FAILED', `docker import of ${rootfs} as ${options.name} failed after ${tarBytes} tar bytes: ${describeError(error).split('\n')[0]}`, { cause: error });
  }
  const result = await tar;
  if (result.exitCode !== 0) {
    throw new OomlabError('IMAGE_BUILD_FAILED', `tar of ${rootfs} failed (exit ${result.exitCode}): ${String(result.stderr).trim().split('\n').slice(-1)[0] ?? ''}`);
  }
  if (!imageId) imageId = (await engine.api.getImage(options.name).inspect()).Id;
  return { imageId, tarBytes };
}

export function splitName(name: string): [repo: string, tag: string] {
  const colon = name.lastIndexOf(':');
  if (colon <= name.lastIndexOf('/')) return [name, 'latest'];
  return [name.slice(0, colon), name.slice(colon + 1)];
}
