// Images a user brings: a `docker save` archive loaded through the engine (`oomlab images load FILE`),
// and the server images already here. Nothing here pulls: a registry is used only by `run --pull`.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { OomlabError, describeError } from '../../0-model/errors.ts';
import type { Engine } from './engine.ts';
import type { LoadedArchive } from '../runtime.ts';

const GIVE_AN_ARCHIVE = 'give a `docker save` archive (`docker save -o FILE IMAGE` where the image is)';

/** Checks the file before the engine is asked, so a typo needs no engine. */
export async function archiveSize(file: string): Promise<number> {
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new OomlabError('IMAGE_LOAD_FAILED', `no file at ${file} — ${GIVE_AN_ARCHIVE}`);
  if (!info.isFile()) throw new OomlabError('IMAGE_LOAD_FAILED', `${file} is not a file — ${GIVE_AN_ARCHIVE}`);
  return info.size;
}

/** What the engine answered to a load: `Loaded image: repo:tag` lines, or its error. */
export function parseLoadResponse(body: string): { tags: string[]; untagged: string[]; error?: string } {
  const tags: string[] = [];
  const untagged: string[] = [];
  for (const line of body.split(/\r?\n/).filter((l) => l.trim() !== '')) {
    let event: { stream?: string; error?: string; errorDetail?: { message?: string } };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      continue;
    }
    if (event.error || event.errorDetail) return { tags, untagged, error: event.errorDetail?.message ?? event.error! };
    const tagged = /^Loaded image: (\S+)/.exec(event.stream ?? '');
    const byId = /^Loaded image ID: (\S+)/.exec(event.stream ?? '');
    if (tagged) tags.push(tagged[1]!);
    else if (byId) untagged.push(byId[1]!);
  }
  return { tags, untagged };
}

/** Loads a `docker save` archive (plain or gzip/bzip2/xz, as the engine reads them) and says what it brought. */
export async function loadImageArchive(engine: Engine, file: string): Promise<LoadedArchive> {
  const bytes = await archiveSize(file);
  const started = Date.now();
  let body = '';
  try {
    const response = await engine.streams.loadImage(createReadStream(file));
    for await (const chunk of response as AsyncIterable<Buffer>) body += chunk.toString('utf8');
  } catch (error) {
    throw new OomlabError('IMAGE_LOAD_FAILED', `the engine did not load ${file} (${describeError(error).split('\n')[0]}) — ${GIVE_AN_ARCHIVE}`, { cause: error });
  }
  const loaded = parseLoadResponse(body);
  if (loaded.error !== undefined || loaded.tags.length + loaded.untagged.length === 0) {
    throw new OomlabError('IMAGE_LOAD_FAILED', `${file} is not an image archive the engine can load (${loaded.error ?? 'it named no image'}) — ${GIVE_AN_ARCHIVE}, whole`);
  }
  return { tags: loaded.tags, untagged: loaded.untagged, bytes, durationMs: Date.now() - started };
}

/** Local images whose name says they are a MySQL-family server (mysql, mariadb, percona), for `oomlab images`. */
export async function localServerImages(engine: Engine): Promise<string[]> {
  const images = await engine.api.listImages();
  return images
    .flatMap((image) => image.RepoTags ?? [])
    .filter((tag) => tag !== '<none>:<none>' && !/-unchecked-[0-9a-f]{6}$/.test(tag) && /mysql|mariadb|percona/.test(tag.slice(0, tag.lastIndexOf(':'))))
    .sort();
}
