import { describe, expect, it } from 'vitest';
import { clientOptionFile } from '../../src/3-runtime/docker/container-shell.ts';
import { sqlText } from '../../src/3-runtime/docker/faults/run.ts';

describe('a step logs in', () => {
  it('writes the root login as a [client] option file, its values quoted as the clients read "…"', () => {
    expect(clientOptionFile({ user: 'root', password: 'a"b\\c' })).toBe('# written by oomlab: the server\'s root login for this run\'s steps\n[client]\nuser = "root"\npassword = "a\\"b\\\\c"\n');
  });

  it('logs a statement with ? where its values are bound', () => {
    const tag = (pieces: TemplateStringsArray, ..._values: unknown[]) => sqlText(pieces);
    expect(tag`SELECT *
      FROM t WHERE id = ${1} AND name = ${"it's"}`).toBe('SELECT * FROM t WHERE id = ? AND name = ?');
  });
});
