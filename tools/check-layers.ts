// The import rule of src/: a module imports only from its own stage folder or a lower-numbered one
// (0-model at the bottom, 9-cli at the top), no import circle exists between files, and dockerode is
// imported only under src/3-runtime/docker/ (everything else reaches the engine through the seam).
// TypeScript 7 ships no compiler API, which dependency-cruiser and madge need to read .ts files;
// every import here is a static relative path with its extension, so reading specifiers suffices.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LayerViolation {
  kind: 'upward' | 'circle' | 'unnumbered' | 'engine';
  text: string;
}

const IMPORT_SPECIFIER = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;

export function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(IMPORT_SPECIFIER)) found.push((match[1] ?? match[2] ?? match[3])!);
  return found;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** `3-runtime/images.ts` → 3; a file outside a numbered folder has no layer. */
function layerOf(srcDir: string, file: string): { layer: number; stage: string } | undefined {
  const stage = relative(srcDir, file).split('/')[0]!;
  const match = /^(\d+)-/.exec(stage);
  return match ? { layer: Number(match[1]), stage } : undefined;
}

/** Docker's client library belongs to Docker's implementation of the engine seam, and to nothing else in src/. */
const ENGINE_LIBRARIES: Record<string, string> = { dockerode: '3-runtime/docker' };

export function checkLayers(srcDir: string): LayerViolation[] {
  const violations: LayerViolation[] = [];
  const graph = new Map<string, string[]>();
  const name = (file: string) => relative(srcDir, file);
  for (const file of filesUnder(srcDir)) {
    const from = layerOf(srcDir, file);
    if (!from) {
      violations.push({ kind: 'unnumbered', text: `src/${name(file)} is outside a numbered stage folder` });
      continue;
    }
    const edges: string[] = [];
    for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
      const library = specifier.split('/')[0]!;
      const home = ENGINE_LIBRARIES[library];
      if (home && !name(file).startsWith(`${home}/`)) {
        violations.push({ kind: 'engine', text: `src/${name(file)} imports ${specifier}: only src/${home}/ may; go through the seam (src/3-runtime/index.ts)` });
      }
      if (!specifier.startsWith('.')) continue;
      const target = resolve(dirname(file), specifier);
      if (!target.startsWith(srcDir)) continue;
      edges.push(target);
      const to = layerOf(srcDir, target);
      if (to && to.layer > from.layer) {
        violations.push({ kind: 'upward', text: `src/${name(file)} imports src/${name(target)}: ${from.stage} may import only from stages numbered ${from.layer} or lower` });
      }
    }
    graph.set(file, edges);
  }
  for (const circle of circlesIn(graph)) violations.push({ kind: 'circle', text: `import circle: ${circle.map((f) => `src/${name(f)}`).join(' → ')}` });
  return violations;
}

/** Every strongly connected group of more than one file (or a file importing itself), as a path. */
function circlesIn(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  let next = 0;
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!graph.has(to)) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, index.get(to)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== node);
    if (group.length > 1 || (graph.get(node) ?? []).includes(node)) circles.push([...group.reverse(), group[0]!]);
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return circles;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const srcDir = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src'));
  const violations = checkLayers(srcDir);
  for (const v of violations) console.error(`${v.kind}: ${v.text}`);
  console.log(
    violations.length === 0
      ? `layers: every import in ${relative(process.cwd(), srcDir) || '.'} goes down or sideways, no circle, dockerode only in 3-runtime/docker/`
      : `layers: ${violations.length} violation(s)`,
  );
  process.exitCode = violations.length === 0 ? 0 : 1;
}
