import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { onPath } from '../../src/0-model/host.ts';
import { poll } from '../../src/0-model/poll.ts';
import { LAB_DIR } from '../../src/3-runtime/lab/index.ts';

const running = async (pattern: string) => (await execa('pgrep', ['-f', pattern], { reject: false })).stdout.trim();

// build.sh stopped mid-debootstrap leaves nothing: a stand-in debootstrap (no mirror, no lock needed) writes into the
// root filesystem and waits, as the real one does for minutes.
describe.skipIf(process.getuid?.() !== 0)('lab/guest/build.sh stopped', async () => {
  const canRun = (await onPath('mkfs.ext4')) && (await onPath('setpriv'));

  it.skipIf(!canRun)(
    'by a TERM to its process group, or by its owner dying, removes its root filesystem and its output folder and leaves no process',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'oomlab-build-stop-'));
      const marker = `sleep 299.${process.pid}`;
      // It names the root filesystem it was given: a real guest build running beside this test has its own in /var/tmp.
      const given = join(dir, 'rootfs-given');
      await writeFile(join(dir, 'debootstrap'), `#!/bin/sh\necho "$4" >> ${given}\nmkdir -p "$4/usr" && echo x > "$4/usr/file" && exec ${marker}\n`);
      await chmod(join(dir, 'debootstrap'), 0o755);
      const rootfsLeft = async () => (await readFile(given, 'utf8').catch(() => '')).split('\n').filter((path) => path !== '' && existsSync(path));
      const start = (out: string, owner: string[]) =>
        execa(owner[0]!, [...owner.slice(1), 'bash', join(LAB_DIR, 'guest', 'build.sh'), out, 'http://127.0.0.1:9/debian', 'bookworm'], {
          detached: true,
          reject: false,
          env: { PATH: `${dir}:${process.env.PATH}` },
        });
      const underWay = async () => expect((await poll(async () => (await running(marker)) !== '' || undefined, { intervalMs: 100, timeoutMs: 10_000 })).done).toBe(true);
      const nothingLeft = async (out: string) => {
        const gone = async () => (await running(marker)) === '' && (await running(`build.sh ${out}`)) === '' && !existsSync(out) && (await rootfsLeft()).length === 0;
        expect((await poll(async () => (await gone()) || undefined, { intervalMs: 100, timeoutMs: 10_000 })).done).toBe(true);
        expect(await rootfsLeft()).toEqual([]);
      };

      // As buildLabGuest stops it: SIGTERM to the group.
      const out1 = join(dir, 'out1');
      const build = start(out1, ['setpriv', '--pdeathsig', 'TERM']);
      await underWay();
      process.kill(-build.pid!, 'SIGTERM');
      expect((await build).exitCode).toBe(130);
      await nothingLeft(out1);

      // Its owner killed outright: setpriv --pdeathsig TERM tells build.sh, which stops debootstrap itself.
      const out2 = join(dir, 'out2');
      const owner = execa(
        'node',
        [
          '-e',
          `require('child_process').spawn('setpriv', ['--pdeathsig', 'TERM', 'bash', ${JSON.stringify(join(LAB_DIR, 'guest', 'build.sh'))}, ${JSON.stringify(out2)}, 'http://127.0.0.1:9/debian', 'bookworm'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] }); setInterval(() => {}, 1000);`,
        ],
        {
          reject: false,
          env: { PATH: `${dir}:${process.env.PATH}` },
        },
      );
      await underWay();
      owner.kill('SIGKILL');
      await owner;
      await sleep(200);
      await nothingLeft(out2);
      // Both builds got as far as a root filesystem of their own, and it is gone.
      expect((await readFile(given, 'utf8')).trim().split('\n')).toEqual([expect.stringMatching(/^\/var\/tmp\/oomlab-lab-rootfs-/), expect.stringMatching(/^\/var\/tmp\/oomlab-lab-rootfs-/)]);
      await rm(dir, { recursive: true, force: true });
      // Its polls wait up to 10 s each: on a loaded 2-core host (a guest build beside it) 5 s was not enough to finish.
    },
    60_000,
  );
});
