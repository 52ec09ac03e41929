import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveSize, parseLoadResponse } from '../../src/3-runtime/docker/image-archive.ts';

// What Docker 20.10 (API 1.41) answered to POST /images/load, captured here.
const captured = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/docker-load', `${name}.jsonl`), 'utf8');

describe('the engine answer to docker load', () => {
  it('names the tags an archive carried', () => {
    expect(parseLoadResponse(captured('loaded-tag'))).toEqual({ tags: ['mysql-test/loaded:1'], untagged: [] });
  });

  it('names an image saved by id, without a tag', () => {
    expect(parseLoadResponse(captured('loaded-by-id'))).toEqual({ tags: [], untagged: ['sha256:dfeea6363d5b8e6ee318d9142c29061ce06c804827cbf5d049fbdc5456e48ee8'] });
  });

  it('keeps the error of a file that is not a tar, and of an empty one', () => {
    expect(parseLoadResponse(captured('not-a-tar')).error).toBe('Error processing tar file(exit status 1): unexpected EOF');
    expect(parseLoadResponse(captured('empty-file')).error).toBe('open /var/lib/docker/tmp/docker-import-4102361514/repositories: no such file or directory');
  });
});

describe('an archive path', () => {
  it('is checked before the engine is asked', async () => {
    await expect(archiveSize('/nonexistent/mysql-5.7.tar')).rejects.toThrow('no file at /nonexistent/mysql-5.7.tar — give a `docker save` archive (`docker save -o FILE IMAGE` where the image is)');
    await expect(archiveSize(import.meta.dirname)).rejects.toThrow(`${import.meta.dirname} is not a file — give a \`docker save\` archive (\`docker save -o FILE IMAGE\` where the image is)`);
  });
});
