import { describeError } from '../../0-model/errors.ts';
import type { ImageState, ImageStore } from '../runtime.ts';
import type { Engine } from './engine.ts';
import { loadImageArchive, localServerImages } from './image-archive.ts';
import { imageExists, imageMissingReason, OFFLINE_RECIPES, offlineImageState, recipeExists } from './images.ts';

/** The engine's images: offline recipe images checked against today's recipe, any other found or not. */
export function dockerImages(engine: Engine): ImageStore {
  const recipeOf = (name: string) => (recipeExists(name) ? OFFLINE_RECIPES[name]?.recipe : undefined);
  return {
    recipeOf,
    recipeImages: () => Object.keys(OFFLINE_RECIPES),
    async state(name): Promise<ImageState> {
      const recipe = recipeOf(name);
      if (!recipe) return (await imageExists(engine, name)) ? { state: 'present' } : { state: 'missing' };
      const found = await offlineImageState(engine, name).catch((error: unknown) => ({ state: 'unchecked' as const, why: describeError(error) }));
      switch (found.state) {
        case 'good':
          return { state: 'good', recipe, recipeHash: found.recipeHash };
        case 'missing':
          return { state: 'missing', recipe };
        case 'stale':
          return { state: 'stale', recipe, why: found.why };
        case 'broken':
          return { state: 'broken', recipe, missing: found.missing };
        case 'unchecked':
          return { state: 'unchecked', recipe, why: found.why };
      }
    },
    serverImages: () => localServerImages(engine),
    load: (file) => loadImageArchive(engine, file),
    missingReason: imageMissingReason,
  };
}
