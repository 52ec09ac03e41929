import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OomlabError } from '../../0-model/errors.ts';

export interface AptSourceFile {
  path: string;
  text: string;
}

interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
}

/** One-line `deb [options] URI suite components…` entries of a sources.list file. */
function oneLineSources(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const match = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (match) sources.push({ uri: match[1]!, suites: [match[2]!], components: match[3]!.split(/\s+/).filter(Boolean) });
  }
  return sources;
}

/** deb822 stanzas of a `.sources` file. */
function deb822Sources(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (match) fields.set(match[1]!.toLowerCase(), match[2]!.trim());
    }
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
    if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const words = (name: string) => (fields.get(name) ?? '').split(/\s+/).filter(Boolean);
    for (const uri of words('uris')) sources.push({ uri, suites: words('suites'), components: words('components') });
  }
  return sources;
}

/**
 * The Debian archive the host's apt already uses, so debootstrap takes the same mirror: the first
 * source with a release suite (not -security or -updates) and the main component.
 */
export function debianMirrorOf(files: readonly AptSourceFile[]): string | undefined {
  for (const file of files) {
    const sources = file.path.endsWith('.sources') ? deb822Sources(file.text) : oneLineSources(file.text);
    for (const source of sources) {
      const release = source.suites.some((suite) => !suite.includes('-') && !suite.includes('/'));
      if (release && source.components.includes('main') && /^https?:\/\//.test(source.uri)) return source.uri.replace(/\/+$/, '');
    }
  }
  return undefined;
}

/** The host's apt sources, in the order apt reads them. */
export async function readAptSources(root = '/etc/apt'): Promise<AptSourceFile[]> {
  const files: AptSourceFile[] = [];
  const main = await readFile(join(root, 'sources.list'), 'utf8').catch(() => undefined);
  if (main !== undefined) files.push({ path: join(root, 'sources.list'), text: main });
  const names = (await readdir(join(root, 'sources.list.d')).catch(() => [] as string[])).filter((n) => n.endsWith('.list') || n.endsWith('.sources')).sort();
  for (const name of names) files.push({ path: join(root, 'sources.list.d', name), text: await readFile(join(root, 'sources.list.d', name), 'utf8') });
  return files;
}

export async function hostDebianMirror(root = '/etc/apt'): Promise<string> {
  const mirror = debianMirrorOf(await readAptSources(root));
  if (!mirror) {
    throw new OomlabError(
      'IMAGE_BUILD_FAILED',
      `no Debian archive in the host's apt sources (${root}/sources.list, ${root}/sources.list.d/*.sources) — offline images are built with the mirror apt uses; add a Debian source with the main component`,
    );
  }
  return mirror;
}
