import { randomBytes } from 'node:crypto';
import type { Engine } from './engine.ts';
import type { ImageCheck } from './image-recipes.ts';
import { LABEL_OWNER_PID, LABEL_RUN, sessionLabels } from './labels.ts';
import { removeContainer } from './cleanup.ts';

export interface ImageCheckResult {
  ok: boolean;
  /** `what` of every check that failed, or why the check container could not run. */
  missing: string[];
  output: string;
}

const CHECK_TIMEOUT_MS = 60_000;

/** One shell script: a line `ok N` or `missing N` per check, whatever the others do. */
export function checkScript(checks: readonly ImageCheck[]): string {
  return checks.map((check, i) => `if (${check.sh}) >/dev/null 2>&1; then echo "ok ${i}"; else echo "missing ${i}"; fi`).join('\n');
}

export function missingFromOutput(checks: readonly ImageCheck[], output: string): string[] {
  const seen = new Map<number, boolean>();
  for (const match of output.matchAll(/^(ok|missing) (\d+)\s*$/gm)) seen.set(Number(match[2]), match[1] === 'ok');
  // A check with no line at all failed too: the shell died before reaching it.
  return checks.filter((_, i) => seen.get(i) !== true).map((check) => check.what);
}

/**
 * Proves an image works by running its checks in a throwaway container (the image is local: it was
 * inspected or just imported, so no pull can happen). The container is labelled and always removed.
 */
export async function checkImage(engine: Engine, image: string, checks: readonly ImageCheck[]): Promise<ImageCheckResult> {
  await engine.api.getImage(image).inspect();
  const runId = `image-check-${randomBytes(3).toString('hex')}`;
  let output = '';
  let container: Awaited<ReturnType<Engine['api']['createContainer']>> | undefined;
  try {
    container = await engine.api.createContainer({
      Image: image,
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: [checkScript(checks)],
      Tty: true,
      User: '0:0',
      NetworkDisabled: true,
      Labels: { [LABEL_RUN]: runId, [LABEL_OWNER_PID]: String(process.pid), ...sessionLabels() },
      HostConfig: { Memory: 512 * 1024 * 1024, NetworkMode: 'none' },
    });
    await container.start();
    const exit = engine.streams.getContainer(container.id).wait();
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the check container did not finish within ${CHECK_TIMEOUT_MS}ms`)), CHECK_TIMEOUT_MS).unref());
    await Promise.race([exit, timeout]);
    output = (await container.logs({ stdout: true, stderr: true, follow: false })).toString('utf8');
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    return { ok: false, missing: [`a container that runs /bin/sh (${why})`], output };
  } finally {
    if (container) await removeContainer(engine.api, container.id).catch(() => {});
  }
  const missing = missingFromOutput(checks, output);
  return { ok: missing.length === 0, missing, output };
}
