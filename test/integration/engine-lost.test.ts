import { createServer, connect, type Socket } from 'node:net';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { containersLabelled, OOMLAB, outputReaches, PROJECT_ROOT, runCli, withTempDir } from './helpers.ts';
import { readReportFile } from '../../src/7-report/index.ts';

// Stopping the real dockerd would disturb everything else on this machine, so the harness talks to
// the real engine through a socket relay that this test can cut: to the harness, the engine is gone.
it('ends within 30s with a report when the engine goes away mid-run, and `oomlab clean` removes what it left', async () => {
  await withTempDir(async (dir) => {
    const relayPath = join(dir, 'docker.sock');
    const sockets = new Set<Socket>();
    const relay = createServer((client) => {
      const upstream = connect('/var/run/docker.sock');
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(relayPath, resolve));

    // One at a time, so the configurations decided before the cut are the first of the matrix.
    const child = execa(OOMLAB, ['run', 'scenarios/nofile-oom.ts', '--only', 'image=oomlab/mariadb:10.11', '--set', 'memory=1g', '--jobs', '1', '--reports-dir', dir], {
      cwd: PROJECT_ROOT,
      reject: false,
      all: true,
      env: { DOCKER_HOST: `unix://${relayPath}` },
    });
    // The second configuration's start line, [#2/N] (one at a time).
    await outputReaches(child, '[#2/');
    await new Promise((r) => setTimeout(r, 1_000));
    const cutAt = Date.now();
    relay.close();
    for (const socket of sockets) socket.destroy();

    const result = await child;
    const tookMs = Date.now() - cutAt;
    expect(result.exitCode, result.all).toBe(2);
    expect(tookMs).toBeLessThan(30_000);
    const folder = (await readdir(dir)).find((f) => f.endsWith('-nofile-oom'))!;
    const report = (await readReportFile(join(dir, folder, 'report.json'))).report;
    expect(report.endedBy).toBe('error');
    expect(report.configs).toHaveLength(15);
    expect(report.configs[0]!.verdict).toBe('pass');
    // Those the engine's loss interrupted are not decided; those it never reached are not run.
    const lost = `the docker engine at unix://${relayPath} stopped answering during the run — restart the docker engine, then run \`oomlab clean\` to remove what the run left`;
    const undecided = report.configs.filter((c) => c.verdict === 'error');
    const notRun = report.configs.filter((c) => c.verdict === 'skipped');
    expect(undecided.length).toBeGreaterThanOrEqual(1);
    expect(undecided.length + notRun.length).toBeGreaterThanOrEqual(13);
    expect(new Set(undecided.map((c) => c.reason))).toEqual(new Set([`not decided: ${lost}`]));
    expect(new Set(notRun.map((c) => c.reason))).toEqual(new Set(notRun.length > 0 ? [`not run: the run ended before it started, as ${lost}`] : []));

    // The engine is back (the real socket): what the lost run left is a dead run's leftovers.
    // This run's containers only: an unrelated leftover the engine cannot remove is clean's `stuck:` line, not this test's failure.
    const cleaned = await runCli(['clean']);
    expect(cleaned.stderr, cleaned.all).not.toContain(report.runId);
    expect(await containersLabelled(`oomlab.run=${report.runId}`), cleaned.all).toEqual([]);
  });
});
