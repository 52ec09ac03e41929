import { beforeAll } from 'vitest';
import { buildNofileShim, connectEngine, OFFLINE_MARIADB_IMAGE, resolveImage } from '../../src/3-runtime/docker/index.ts';

// Integration tests need a real engine and the offline image: set both up as `oomlab run` would. A setup
// file, not a globalSetup: it runs when an engine test file starts, so tests that need no engine (unit,
// the report page, the report CLI) do not wait for the image build. After the first file it is an inspect.
beforeAll(async () => {
  const log = (text: string) => process.stderr.write(`[integration setup] ${text}\n`);
  const engine = await connectEngine({ onProgress: log });
  const image = await resolveImage(engine, OFFLINE_MARIADB_IMAGE, { onProgress: log });
  if (!image.available) throw new Error(image.reason);
  await buildNofileShim();
});
