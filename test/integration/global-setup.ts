import type { TestProject } from 'vitest/node';
import { buildNofileShim, connectEngine, OFFLINE_MARIADB_IMAGE, resolveImage } from '../../src/3-runtime/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** How the setup got the offline image: a build here is the cold build image-build.test.ts would otherwise repeat. */
    offlineImage: { source: string; builtInMs?: number; progress: string[] };
  }
}

/** Integration tests need a real engine and the offline image: set both up once, as `oomlab run` would. */
export default async function setup(project: TestProject): Promise<void> {
  const progress: string[] = [];
  const log = (text: string) => {
    progress.push(text);
    process.stderr.write(`[integration setup] ${text}\n`);
  };
  const engine = await connectEngine({ onProgress: log });
  const image = await resolveImage(engine, OFFLINE_MARIADB_IMAGE, { onProgress: log });
  if (!image.available) throw new Error(image.reason);
  project.provide('offlineImage', { source: image.source ?? 'local', ...(image.builtInMs !== undefined ? { builtInMs: image.builtInMs } : {}), progress });
  await buildNofileShim();
}
