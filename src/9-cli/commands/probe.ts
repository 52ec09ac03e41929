// `oomlab probe IMAGE...`: what one descriptor costs each server, in seconds and without an OOM kill.
import { UsageError } from '../../0-model/errors.ts';
import { readHostFacts } from '../../4-observe/index.ts';
import { buildNofileShim, dockerRuntime } from '../../3-runtime/index.ts';
import { fileTableLine, probeFileTable } from '../../8-run/file-table-probe.ts';
import { signalOnInterrupt } from './interrupt.ts';

export async function commandProbe(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const images = args.filter((a) => a !== '--json');
  const unknown = images.find((a) => a.startsWith('-'));
  if (unknown) throw new UsageError(`unknown option \`${unknown}\` for probe; usage: oomlab probe IMAGE... [--json]`);
  if (images.length === 0) throw new UsageError('give at least one image: oomlab probe oomlab/mariadb:10.11 oomlab/mysql:9.7');
  const host = await readHostFacts();
  const say = (text: string) => process.stderr.write(`· ${text}\n`);
  const connection = await dockerRuntime.connect({ onProgress: say });
  const signal = signalOnInterrupt("removing the probe's container");
  const probes = [];
  for (const image of images) {
    const resolved = await connection.resolveImage(image, { onProgress: say, signal });
    if (!resolved.available) throw new UsageError(resolved.reason ?? `image ${image} is not here`);
    const probe = await probeFileTable(image, { connection, hostNofileHardLimit: host.nofileHardLimit, shimPath: buildNofileShim, signal, onProgress: say });
    probes.push(probe);
    if (!json) process.stdout.write(`${fileTableLine(probe)}\n`);
  }
  if (json) process.stdout.write(`${JSON.stringify(probes, null, 2)}\n`);
  return 0;
}
