import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { startSyscallTracer, type TracedSyscall } from '../../src/4-observe/index.ts';

// The tracer on the real kernel: a process named like the server reads its nofile limit as soon as the
// tracer says it is live, and the call must be seen. (bpftrace prints "Attaching N probes..." before it
// attaches them; the tracer now waits for its own ready probe. This test passed before that change too:
// it did not reproduce a missed call, it keeps the tracer's whole path honest on this kernel.)
describe('the syscall tracer on this kernel', () => {
  it('sees a RLIMIT_NOFILE read made right after it reports its probes live, in each of five starts', async ({ skip }) => {
    const folder = await mkdtemp(join(tmpdir(), 'oomlab-tracer-'));
    try {
      // util-linux's prlimit reads the limit with prlimit64(…, RLIMIT_NOFILE, NULL, &old); named mariadbd, it passes the tracer's filter.
      const server = join(folder, 'mariadbd');
      await copyFile('/usr/bin/prlimit', server);
      for (let start = 0; start < 5; start++) {
        const seen: TracedSyscall[] = [];
        const tracer = await startSyscallTracer((call) => seen.push(call), AbortSignal.timeout(60_000));
        if (!tracer.available) {
          skip(`the tracer cannot run here: ${tracer.reason}`);
          return;
        }
        try {
          const reading = execa(server, ['--nofile', '--output', 'SOFT']);
          const pid = reading.pid;
          await reading;
          const deadline = Date.now() + 3_000;
          while (!seen.some((call) => call.pid === pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
          expect(
            seen.find((call) => call.pid === pid),
            `start ${start + 1}: saw ${JSON.stringify(seen)}`,
          ).toMatchObject({ syscall: 'prlimit64', comm: 'mariadbd', sets: false });
        } finally {
          await tracer.stop();
        }
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }, 180_000);
});
