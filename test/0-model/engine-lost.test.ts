// What a run says when its engine stops answering: a host engine can be restarted, a lab VM's dies with its VM.
import { describe, expect, it } from 'vitest';
import { EngineLostError } from '../../src/0-model/errors.ts';

describe('EngineLostError', () => {
  it("tells the user to restart the host's engine", () => {
    expect(new EngineLostError('docker', 'unix:///var/run/docker.sock').message).toBe(
      'the docker engine at unix:///var/run/docker.sock stopped answering during the run — restart the docker engine, then run `oomlab clean` to remove what the run left',
    );
  });

  it("never tells the user to restart an engine that lived in a lab VM: a newcomer was told to, and restarting the host's would have ended others' runs", () => {
    // The where a lab's docker client gives (a newcomer's neighbours run in a 613 MiB guest).
    const lost = new EngineLostError('docker', 'tcp://127.0.0.1:40319 (lab VM lab,memory=613m)', { inVm: true });
    expect(lost.message).toBe(
      'the docker engine at tcp://127.0.0.1:40319 (lab VM lab,memory=613m) stopped answering during the run — the lab VM is removed with the run; if its guest ran out of memory, give the VM more (memory=) or its neighbours less, and run `oomlab clean` if anything of the run is left',
    );
    expect(new EngineLostError('lab', '127.0.0.1:40319 (qemu exited)', { inVm: true }).message).not.toContain('restart');
  });
});
