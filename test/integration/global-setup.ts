import { buildNofileShim, connectEngine, OFFLINE_MARIADB_IMAGE, resolveImage } from '../../src/3-runtime/index.ts';

/** Integration tests need a real engine and the offline image: set both up once, as `oomlab run` would. */
export default async function setup(): Promise<void> {
  const log = (text: string) => process.stderr.write(`[integration setup] ${text}\n`);
  const engine = await connectEngine({ onProgress: log });
  const image = await resolveImage(engine, OFFLINE_MARIADB_IMAGE, { onProgress: log });
  if (!image.available) throw new Error(image.reason);
  await buildNofileShim();
}
