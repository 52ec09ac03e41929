// Boots a lab VM until interrupted, for lab.test.ts: SIGINT aborts the boot as a run's signal would. Usage: lab-boot-child.ts RUN_ID
import { describeError } from '../../src/0-model/errors.ts';
import { bootLab, LAB_SHAPES, labAccel, labGuestState } from '../../src/3-runtime/lab/index.ts';

const runId = process.argv[2] ?? 'lab-boot-child';
const found = await labGuestState();
if (found.state !== 'good') throw new Error(`no checked lab guest (${found.state}); lab.test.ts builds it first`);
const accel = await labAccel(found.guest);
const controller = new AbortController();
process.on('SIGINT', () => controller.abort());
try {
  await using vm = await bootLab({ runId, shape: LAB_SHAPES.default, guest: found.guest, accel: accel.accel, signal: controller.signal, onProgress: (text) => process.stdout.write(`${text}\n`) });
  process.stdout.write(`booted in ${vm.bootMs}ms\n`);
} catch (error) {
  process.stdout.write(`ended: ${describeError(error)}\n`);
  process.exitCode = 130;
}
