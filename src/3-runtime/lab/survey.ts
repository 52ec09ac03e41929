// What `oomlab doctor` says of the lab: qemu, the guest, KVM or TCG, and which shapes fit this host.
import { totalmem } from 'node:os';
import { execa } from 'execa';
import { onPath } from '../../0-model/host.ts';
import type { SurveyLine } from '../runtime.ts';
import { labAccel, labGuestState } from './guest.ts';
import { LAB_SHAPES, type LabShape } from './shape.ts';
import { QEMU_BINARY } from './vm.ts';

/** What the host keeps for itself beside a guest's memory. */
const HOST_RESERVE_MIB = 1024;

function shapeText(name: string, shape: LabShape): string {
  const numa = shape.numaNodes ? `, ${shape.numaNodes.length} NUMA nodes of ${shape.numaNodes.map((node) => `${node.memoryMiB}`).join('/')} MiB` : '';
  return `${name} (${shape.vcpus} vCPUs, ${shape.memoryMiB} MiB${numa}, cgroup ${shape.cgroup})`;
}

/** Starts nothing but, when no decision is cached yet and the guest is built, the KVM probe (a kernel with no disk, 20 s at most). */
export async function labSurvey(hostMemoryMiB = Math.floor(totalmem() / 1_048_576)): Promise<SurveyLine[]> {
  const lines: SurveyLine[] = [];
  const qemu = await onPath(QEMU_BINARY);
  const version = qemu ? (await execa(QEMU_BINARY, ['--version'], { reject: false, timeout: 10_000 })).stdout.split('\n')[0] : undefined;
  lines.push({ name: 'lab qemu', status: qemu ? 'ok' : 'limited', detail: qemu ? (version ?? QEMU_BINARY) : `${QEMU_BINARY} not installed — the first lab run installs qemu-system-x86 with apt-get` });
  const found = await labGuestState();
  if (found.state === 'good')
    lines.push({
      name: 'lab guest',
      status: 'ok',
      detail: `${found.guest.release}, kernel ${found.guest.kernelRelease}, recipe hash ${found.guest.recipeHash}, in ${found.guest.dir}${found.guest.checked ? '' : '; built, not booted yet: the first lab run checks it'}`,
    });
  else
    lines.push({
      name: 'lab guest',
      status: 'limited',
      detail: `${found.state === 'stale' ? `stale: ${found.why}` : 'not built yet'} — the first lab run builds it from Debian packages (about 2–3 minutes)`,
    });
  let speed = 'unknown until the guest is built';
  if (found.state === 'good' && qemu) {
    const accel = await labAccel(found.guest);
    speed = accel.accel === 'kvm' ? 'kvm, near native speed' : 'tcg, several times slower than this host (4–10× measured)';
    lines.push({ name: 'lab accel', status: accel.accel === 'kvm' ? 'ok' : 'limited', detail: `${accel.accel}: ${accel.why}` });
  }
  const fits = Object.entries(LAB_SHAPES).filter(([, shape]) => shape.memoryMiB + HOST_RESERVE_MIB <= hostMemoryMiB);
  const tooBig = Object.entries(LAB_SHAPES).filter(([, shape]) => shape.memoryMiB + HOST_RESERVE_MIB > hostMemoryMiB);
  lines.push({
    name: 'lab shapes',
    status: tooBig.length === 0 ? 'ok' : fits.length > 0 ? 'limited' : 'missing',
    detail: `${fits.map(([name, shape]) => shapeText(name, shape)).join(', ') || 'none'} fit ${hostMemoryMiB} MiB here, under ${speed}${tooBig.length > 0 ? `; too big: ${tooBig.map(([name, shape]) => shapeText(name, shape)).join(', ')}` : ''}`,
  });
  return lines;
}
